-- Databases of the compose setup: the primary cell's main DB, the secondary's tracking DB and the
-- Topology Service's DB. Tables come from `meridian db migrate` (the compose `migrate` service).
CREATE DATABASE meridian_main;
CREATE DATABASE meridian_geo_tracking;
CREATE DATABASE meridian_topology;

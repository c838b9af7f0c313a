import type { Migration } from '@meridian/db';

// The reference cell schema in each cell's main database: enough of an application for Geo
// (blobs owned by projects) and, later, for claims (users, emails, routes).
export const cellModelMigrations: Migration[] = [
  {
    name: 'cell-models/0001_organizations_projects_packages',
    sql: `
      create table organizations (
        id bigserial primary key,
        name text not null,
        path text not null unique,
        created_at timestamptz not null default now()
      );
      create table namespaces (
        id bigserial primary key,
        organization_id bigint not null references organizations (id) on delete cascade,
        parent_id bigint references namespaces (id) on delete cascade,
        name text not null,
        path text not null,
        created_at timestamptz not null default now()
      );
      create index namespaces_organization_id on namespaces (organization_id);
      create table projects (
        id bigserial primary key,
        organization_id bigint not null references organizations (id) on delete cascade,
        namespace_id bigint not null references namespaces (id) on delete cascade,
        name text not null,
        path text not null,
        created_at timestamptz not null default now()
      );
      create index projects_organization_id on projects (organization_id);
      create index projects_namespace_id on projects (namespace_id);
      create table packages_packages (
        id bigserial primary key,
        project_id bigint not null references projects (id) on delete cascade,
        name text not null,
        version text,
        package_type smallint not null default 0,
        created_at timestamptz not null default now()
      );
      create index packages_packages_project_id on packages_packages (project_id);
      create table packages_package_files (
        id bigserial primary key,
        package_id bigint not null references packages_packages (id) on delete cascade,
        file_name text not null,
        file_path text not null,
        size bigint not null,
        file_sha256 text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );
      create index packages_package_files_package_id on packages_package_files (package_id);
      create table packages_helm_metadata_caches (
        id bigserial primary key,
        project_id bigint not null references projects (id) on delete cascade,
        channel text not null,
        file_path text not null,
        size bigint not null,
        file_sha256 text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now(),
        unique (project_id, channel)
      );`,
  },
];

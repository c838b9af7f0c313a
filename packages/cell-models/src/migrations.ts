import type { Migration } from '@meridian/db';

// The reference cell schema in each cell's main database: enough of an application for Geo
// (blobs owned by projects) and for claims (users, emails, keys, routes, …). Released steps are
// never edited: new tables and columns are new steps.
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
  {
    name: 'cell-models/0002_claimable_models',
    sql: `
      create table users (
        id bigserial primary key,
        username text not null unique,
        name text not null default '',
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );
      create table emails (
        id bigserial primary key,
        user_id bigint not null references users (id) on delete cascade,
        email text not null unique,
        created_at timestamptz not null default now()
      );
      create index emails_user_id on emails (user_id);
      create table keys (
        id bigserial primary key,
        user_id bigint not null references users (id) on delete cascade,
        title text not null default '',
        key text not null,
        fingerprint text not null unique,
        created_at timestamptz not null default now()
      );
      create index keys_user_id on keys (user_id);
      create table gpg_keys (
        id bigserial primary key,
        user_id bigint not null references users (id) on delete cascade,
        key text not null,
        fingerprint text not null unique,
        created_at timestamptz not null default now()
      );
      create index gpg_keys_user_id on gpg_keys (user_id);
      create table routes (
        id bigserial primary key,
        namespace_id bigint not null references namespaces (id) on delete cascade,
        path text not null unique,
        created_at timestamptz not null default now()
      );
      create index routes_namespace_id on routes (namespace_id);
      create table redirect_routes (
        id bigserial primary key,
        namespace_id bigint not null references namespaces (id) on delete cascade,
        path text not null unique,
        created_at timestamptz not null default now()
      );
      create index redirect_routes_namespace_id on redirect_routes (namespace_id);
      create table service_desk_settings (
        project_id bigint primary key references projects (id) on delete cascade,
        custom_email text unique,
        created_at timestamptz not null default now()
      );`,
  },
  {
    // Claims verification leaves rows changed in the last hour alone: every claimable table gets
    // an updated_at that a trigger keeps current on every update.
    name: 'cell-models/0003_claimable_updated_at',
    sql: `
      create function cell_models_touch_updated_at() returns trigger language plpgsql as $$
      begin
        new.updated_at := now();
        return new;
      end $$;
      alter table organizations add column updated_at timestamptz not null default now();
      alter table namespaces add column updated_at timestamptz not null default now();
      alter table projects add column updated_at timestamptz not null default now();
      alter table emails add column updated_at timestamptz not null default now();
      alter table keys add column updated_at timestamptz not null default now();
      alter table gpg_keys add column updated_at timestamptz not null default now();
      alter table routes add column updated_at timestamptz not null default now();
      alter table redirect_routes add column updated_at timestamptz not null default now();
      alter table service_desk_settings add column updated_at timestamptz not null default now();
      create trigger organizations_touch before update on organizations for each row execute function cell_models_touch_updated_at();
      create trigger namespaces_touch before update on namespaces for each row execute function cell_models_touch_updated_at();
      create trigger projects_touch before update on projects for each row execute function cell_models_touch_updated_at();
      create trigger users_touch before update on users for each row execute function cell_models_touch_updated_at();
      create trigger emails_touch before update on emails for each row execute function cell_models_touch_updated_at();
      create trigger keys_touch before update on keys for each row execute function cell_models_touch_updated_at();
      create trigger gpg_keys_touch before update on gpg_keys for each row execute function cell_models_touch_updated_at();
      create trigger routes_touch before update on routes for each row execute function cell_models_touch_updated_at();
      create trigger redirect_routes_touch before update on redirect_routes for each row execute function cell_models_touch_updated_at();
      create trigger service_desk_settings_touch before update on service_desk_settings for each row execute function cell_models_touch_updated_at();`,
  },
];

import { cellModelMigrations } from '@meridian/cell-models';
import { defineFeatureModule } from '../feature-module';

/** The reference cell schema (organizations, projects, packages, users, …) in the main database. */
export const cellModelsModule = defineFeatureModule({
  name: 'cell-models',
  migrations: { main: cellModelMigrations },
});

import { randomBytes } from 'node:crypto';
import { createOrganization, createPackage, createPackageFile, createProject, upsertHelmMetadataCache } from '@meridian/cell-models';
import type { Sql } from '@meridian/db';
import type { BlobStorage } from '@meridian/storage';

export interface SeedCounts {
  organizations: number;
  projects: number;
  packageFiles: number;
  helmCaches: number;
}

/**
 * What an application on the primary would have written: organizations with projects, packages
 * with files (1–64 KiB of random bytes) and a Helm index per project channel.
 */
export async function seedPrimary(
  sql: Sql,
  storage: BlobStorage,
  options: { organizations?: number; projectsPerOrganization?: number; filesPerProject?: number; cancelled?: () => boolean } = {},
): Promise<SeedCounts> {
  const { organizations = 3, projectsPerOrganization = 2, filesPerProject = 20, cancelled = () => false } = options;
  const run = randomBytes(3).toString('hex');
  const counts: SeedCounts = { organizations: 0, projects: 0, packageFiles: 0, helmCaches: 0 };
  for (let o = 0; o < organizations && !cancelled(); o++) {
    const org = await createOrganization(sql, `org-${run}-${o}`);
    counts.organizations += 1;
    for (let p = 0; p < projectsPerOrganization && !cancelled(); p++) {
      const project = await createProject(sql, org, `project-${p}`);
      counts.projects += 1;
      const pkg = await createPackage(sql, project, `lib-${p}`);
      for (let f = 0; f < filesPerProject && !cancelled(); f++) {
        const size = 1024 + Math.floor(Math.random() * 63 * 1024);
        await createPackageFile(sql, storage, pkg, `lib-${p}-1.${f}.0.tgz`, randomBytes(size));
        counts.packageFiles += 1;
      }
      for (const channel of ['stable', 'devel']) {
        await upsertHelmMetadataCache(sql, storage, project, channel, `apiVersion: v1\ngenerated: ${new Date().toISOString()}\nentries:\n  lib-${p}: []\n`);
        counts.helmCaches += 1;
      }
    }
  }
  return counts;
}

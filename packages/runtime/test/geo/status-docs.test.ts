import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SECONDARY_REPORT_FIELDS, SITE_STATUS_FIELDS, TYPE_STATUS_FIELDS } from '@meridian/geo';
import { repoRoot } from '@meridian/testing';

// docs/operations.md documents every declared status field and gauge; a field added to
// packages/geo/src/status-fields.ts without its line there fails here.
describe('docs/operations.md', () => {
  const doc = readFileSync(path.join(repoRoot, 'docs', 'operations.md'), 'utf8');
  it.each(TYPE_STATUS_FIELDS.map((f) => [f.suffix, f.metric] as const))('documents <p>%s and its gauge', (suffix, metric) => {
    expect(doc).toContain(`\`<p>${suffix}\``);
    if (metric !== null) expect(doc).toContain(`\`geo_<p>${metric}\``);
  });
  it.each([...SITE_STATUS_FIELDS, ...SECONDARY_REPORT_FIELDS].map((f) => [f.name, f.metric] as const))('documents %s and its gauge', (name, metric) => {
    expect(doc).toContain(`\`${name}\``);
    if (metric !== null) expect(doc).toContain(`\`${metric}\``);
  });
});

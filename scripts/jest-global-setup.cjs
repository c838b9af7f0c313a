// Global setup of every package's jest run (jest.preset.cjs): names this run, so the template
// databases its test files clone from (createTestDatabase({ template })) are dropped at its end,
// and gives processes the tests start without a STORAGE_ROOT of their own (site-api, workers) a
// temporary one, removed at the end, instead of the default `.meridian/storage` in the checkout.
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async function globalSetup() {
  process.env.MERIDIAN_TEST_TEMPLATE_RUN = `${process.pid}${randomBytes(3).toString('hex')}`;
  if (!process.env.STORAGE_ROOT) {
    process.env.STORAGE_ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-test-storage-'));
    process.env.MERIDIAN_TEST_STORAGE_ROOT = process.env.STORAGE_ROOT;
  }
};

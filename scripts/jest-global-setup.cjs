// Global setup of every package's jest run (jest.preset.cjs): names this run, so the template
// databases its test files clone from (createTestDatabase({ template })) are dropped at its end.
const { randomBytes } = require('node:crypto');

module.exports = async function globalSetup() {
  process.env.MERIDIAN_TEST_TEMPLATE_RUN = `${process.pid}${randomBytes(3).toString('hex')}`;
};

// The preset's test environment: Node's, plus a check that a test file closed what it opened.
// At teardown (after every afterAll) the worker's active handles (sockets, servers, timers, child
// processes, file handles) must be back to what they were before the file ran; it waits up to
// 2 s for closing ones. MERIDIAN_LEAK_CHECK=fail (the preset's default) fails the file naming
// what stayed open; =warn only prints it; =off skips the check.
const { TestEnvironment } = require('jest-environment-node');

const IGNORED = new Set(['TTYWrap', 'SignalWrap']);

function counts() {
  const out = new Map();
  for (const kind of process.getActiveResourcesInfo()) {
    if (IGNORED.has(kind)) continue;
    out.set(kind, (out.get(kind) ?? 0) + 1);
  }
  return out;
}

function leaked(before) {
  const now = counts();
  const extra = [];
  for (const [kind, n] of now) {
    const was = before.get(kind) ?? 0;
    if (n > was) extra.push(`${n - was} × ${kind}`);
  }
  return extra;
}

class LeakCheckEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
    this.mode = process.env.MERIDIAN_LEAK_CHECK ?? config.projectConfig.testEnvironmentOptions?.leakCheck ?? 'fail';
  }

  async setup() {
    await super.setup();
    // stdout/stderr get their handles on first use; a test that prints (or a warning Node prints
    // once) would otherwise count as a leak when they are pipes (CI, turbo), not terminals
    void process.stdout;
    void process.stderr;
    this.before = counts();
  }

  async teardown() {
    let extra = [];
    if (this.mode !== 'off') {
      const deadline = Date.now() + 2_000;
      for (;;) {
        extra = leaked(this.before);
        if (extra.length === 0 || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 50).unref());
      }
    }
    await super.teardown();
    if (extra.length === 0) return;
    const message = `${this.testPath} left open: ${extra.join(', ')} (close every pool, client, server, timer and child process it opens)`;
    if (this.mode === 'warn') process.stderr.write(`leak check: ${message}\n`);
    else throw new Error(message);
  }
}

module.exports = LeakCheckEnvironment;

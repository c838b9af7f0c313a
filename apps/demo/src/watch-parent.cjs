// Preloaded (`node --require`) into every process the demo supervises: when the supervisor's IPC
// channel closes (it stopped, or died without a chance to stop anyone), this process stops itself
// with its own SIGTERM handler. The channel is unref'd so it never keeps a process alive.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

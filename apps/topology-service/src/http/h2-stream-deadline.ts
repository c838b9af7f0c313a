import http2 from 'node:http2';

// Node's HTTP/1.1 server gives a request `requestTimeout` to arrive in full; its HTTP/2 server
// has no such limit, so a stream whose body never ends would hold its handler (and a stream
// slot) forever while other traffic keeps the session alive. This gives every HTTP/2 stream the
// same budget: a stream whose request side is still open when it runs out is reset with CANCEL.
// A stream whose request arrived in full is left alone (answering is the handler's business).

export function createH2StreamDeadline(requestTimeoutMs: number): (stream: http2.ServerHttp2Stream) => void {
  return (stream) => {
    const timer = setTimeout(() => {
      if (stream.closed || stream.destroyed) return;
      if (stream.state.remoteClose) return; // the client finished sending
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, requestTimeoutMs);
    timer.unref();
    stream.once('close', () => clearTimeout(timer));
  };
}

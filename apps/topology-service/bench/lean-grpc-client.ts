import http2 from 'node:http2';
import { fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape, create } from '@bufbuild/protobuf';

// A minimal unary gRPC client for the benchmark's load generator: one HTTP/2 session, standard
// gRPC framing (5-byte prefix, no compression), grpc-status read from the trailers. The service
// sees exactly what any gRPC client sends; the bench just spends less of the shared CPU producing
// it than a full-featured client would (and says which client it used).

export interface UnaryMethod<I extends DescMessage, O extends DescMessage> {
  name: string;
  parent: { typeName: string };
  input: I;
  output: O;
}

export class LeanGrpcError extends Error {
  constructor(readonly status: number, message: string) {
    super(`grpc-status ${status}: ${message}`);
  }
}

export function createLeanGrpcClient(baseUrl: string, authorization: string) {
  const session = http2.connect(baseUrl);
  session.on('error', () => undefined);
  session.unref();
  return {
    call<I extends DescMessage, O extends DescMessage>(method: UnaryMethod<I, O>, message: MessageInitShape<I>): Promise<MessageShape<O>> {
      const body = toBinary(method.input, create(method.input, message));
      const framed = Buffer.allocUnsafe(5 + body.length);
      framed[0] = 0;
      framed.writeUInt32BE(body.length, 1);
      framed.set(body, 5);
      return new Promise((resolve, reject) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': `/${method.parent.typeName}/${method.name}`,
          'content-type': 'application/grpc',
          te: 'trailers',
          authorization,
        });
        const chunks: Buffer[] = [];
        let headerStatus: string | undefined;
        let trailers: http2.IncomingHttpHeaders | undefined;
        stream.on('response', (headers) => {
          headerStatus = headers['grpc-status'] as string | undefined; // trailers-only responses
          if (headerStatus !== undefined) trailers = headers;
        });
        stream.on('trailers', (t) => (trailers = t));
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', reject);
        stream.on('end', () => {
          const status = Number(trailers?.['grpc-status'] ?? NaN);
          if (status !== 0) {
            reject(new LeanGrpcError(status, decodeURIComponent(String(trailers?.['grpc-message'] ?? ''))));
            return;
          }
          const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          resolve(fromBinary(method.output, data.subarray(5, 5 + data.readUInt32BE(1))));
        });
        stream.end(framed);
      });
    },
    close: () => session.close(),
  };
}

import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { createLogger } from '@meridian/logger';
import { createFilesystemStorage, type BlobStorage } from '@meridian/storage';
import { createRetrieveBatchRouter, createRetrieveRouter, type RetrieveLookupResult } from '../../src/transfer';

export const SECRET = 'geo-transfer-test-secret-0123456789abcdef';
export const REPLICABLES = ['package_file', 'helm_metadata_cache'] as const;

export interface RunningServer {
  url: string;
  /** TCP connections accepted so far */
  connections(): number;
  close(): Promise<void>;
}

/** Listens on an ephemeral loopback port; close() also drops keep-alive connections. */
export async function listen(handler: http.RequestListener): Promise<RunningServer> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export interface Primary extends RunningServer {
  storage: BlobStorage;
  /** `${replicable}:${id}` → row */
  rows: Map<string, RetrieveLookupResult>;
  /** every log line, parsed */
  logs: Record<string, unknown>[];
  rawLogs: string[];
  lookups: number;
}

/** `wrapStorage` lets a test interpose on what the router does with the primary's storage. */
export async function startPrimary(root: string, wrapStorage: (storage: BlobStorage) => BlobStorage = (s) => s): Promise<Primary> {
  const storage = createFilesystemStorage(root);
  const rows = new Map<string, RetrieveLookupResult>();
  const rawLogs: string[] = [];
  const logger = createLogger({ name: 'primary', level: 'debug', destination: { write: (line: string) => void rawLogs.push(line) } });
  const primary = { storage, rows, rawLogs, lookups: 0 } as Primary;
  const app = express();
  app.use(
    createRetrieveRouter({
      secret: SECRET,
      storage: wrapStorage(storage),
      logger,
      knownReplicables: () => REPLICABLES,
      lookup: async (replicable, id) => {
        primary.lookups += 1;
        return rows.get(`${replicable}:${id}`);
      },
    }),
  );
  app.use(
    createRetrieveBatchRouter({
      secret: SECRET,
      storage: wrapStorage(storage),
      logger,
      knownReplicables: () => REPLICABLES,
      lookupMany: async (replicable, ids) => {
        primary.lookups += 1;
        const out = new Map<bigint, RetrieveLookupResult>();
        for (const id of ids) {
          const row = rows.get(`${replicable}:${id}`);
          if (row) out.set(id, row);
        }
        return out;
      },
    }),
  );
  // like the site API's: whatever reaches the app's error handler is a 500, logged as an error
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    logger.error({ err: error }, 'request failed');
    if (!res.headersSent) res.status(500).json({ error: 'internal', message: 'internal error' });
  });
  const server = await listen(app);
  Object.assign(primary, server);
  Object.defineProperty(primary, 'logs', { get: () => rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>) });
  return primary;
}

export interface Dirs {
  base: string;
  primaryRoot: string;
  secondaryRoot: string;
  outside: string;
  cleanup(): void;
}

export function makeDirs(): Dirs {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-transfer-'));
  const dirs = {
    base,
    primaryRoot: path.join(base, 'primary'),
    secondaryRoot: path.join(base, 'secondary'),
    outside: path.join(base, 'outside'),
    cleanup: () => fs.rmSync(base, { recursive: true, force: true }),
  };
  fs.mkdirSync(dirs.outside);
  return dirs;
}

export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

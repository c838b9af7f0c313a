import path from 'node:path';
import { repoRoot, spawnTs, waitFor } from '@meridian/testing';

// The Topology Service as its own process (the app's current code) on its own database, for the
// claims benchmarks: cell 1 with `credential`.

export interface TopologyProcess {
  url: string;
  stop(): Promise<void>;
}

export async function startTopologyProcess(databaseUrl: string, credential: string): Promise<TopologyProcess> {
  const service = spawnTs(path.join(repoRoot, 'apps/topology-service/src/main.ts'), {
    TOPOLOGY_DATABASE_URL: databaseUrl,
    TOPOLOGY_PORT: '0',
    TOPOLOGY_CELLS: '1,127.0.0.1:1,cell-1',
    TOPOLOGY_CELL_CREDENTIALS: `1=${credential}`,
    TOPOLOGY_ADMIN_TOKEN: 'bench-admin-token-xxxxxxxx',
    TOPOLOGY_ROUTER_TOKEN: 'bench-router-token-xxxxxxx',
    LOG_LEVEL: 'info',
    // e.g. BENCH_SERVICE_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles the service
    ...(process.env.BENCH_SERVICE_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVICE_NODE_OPTIONS } : {}),
  });
  const stop = async () => {
    service.child.kill('SIGTERM');
    await service.exited;
  };
  try {
    const url = await waitFor(() => /"url":"(http:[^"]+)"/.exec(service.output())?.[1], { timeoutMs: 60_000, message: 'the topology service to listen' });
    return { url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

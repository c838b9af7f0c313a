import { Redis } from 'ioredis';
import { claimsScenario } from './claims-scenario';
import { damageVerifiedBlob } from './damage';
import type { ChaosCluster, ClusterOptions } from './cluster';
import type { ProxyMode } from './fault-proxy';
import type { Random } from './random';
import type { RunResult, RunSize } from './run-scenario';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface FaultContext {
  cluster: ChaosCluster;
  random: Random;
  /** epoch ms at which fault injection stops */
  until: number;
  /** records one injected fault */
  fault(kind: string): void;
}

export interface Scenario {
  id: number;
  title: string;
  cluster: Omit<ClusterOptions, 'random' | 'linkBytesPerSecond'>;
  /** rows deleted on the primary after each workload wave, as a share of the rows written so far */
  deleteShare?: number;
  /** convergence also needs every live blob verified on the secondary against the primary's checksum */
  requireVerified?: boolean;
  /** injects faults until `context.until`, then returns with the system healed */
  inject(context: FaultContext): Promise<void>;
  /** a scenario with its own cluster, workload and checks (claims) runs this instead */
  run?(seed: number, size: RunSize, log: (line: string) => void): Promise<RunResult>;
}

async function untilEnd(context: FaultContext, step: () => Promise<void>): Promise<void> {
  while (Date.now() < context.until) await step();
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 1,
    title: 'secondary workers killed with SIGKILL at random every few seconds',
    // the default 15 min sync timeout: a killed worker's blobs must come back through its re-delivered job
    cluster: { workers: 3 },
    inject: (context) =>
      untilEnd(context, async () => {
        await sleep(context.random.int(2_000, 5_000));
        const worker = context.random.pick(context.cluster.workers);
        context.fault('SIGKILL secondary worker');
        await worker.kill('SIGKILL');
        await sleep(context.random.int(300, 2_000));
        await worker.start();
      }),
  },
  {
    id: 2,
    title: "the secondary's Redis flushed, then its server killed and restarted",
    cluster: { workers: 3, syncTimeoutMs: 30_000 },
    async inject(context) {
      const { redis } = context.cluster;
      await untilEnd(context, async () => {
        await sleep(context.random.int(4_000, 9_000));
        const client = new Redis(redis.secondary.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
        client.on('error', () => undefined);
        await client.connect();
        await client.flushall(); // the suite's private server, never a shared one
        client.disconnect();
        context.fault('FLUSHALL secondary redis');
        await sleep(context.random.int(500, 2_000));
        await redis.secondary.kill();
        context.fault('SIGKILL secondary redis-server');
        await sleep(context.random.int(1_000, 4_000));
        await redis.secondary.start();
      });
    },
  },
  {
    id: 3,
    title: 'PostgreSQL restarted (fast shutdown) mid-replication',
    cluster: { workers: 3, syncTimeoutMs: 30_000 },
    inject: (context) =>
      untilEnd(context, async () => {
        await sleep(context.random.int(4_000, 10_000));
        context.fault('PostgreSQL fast shutdown + restart');
        await context.cluster.postgres.restart(context.random.int(500, 3_000));
      }),
  },
  {
    id: 4,
    title: "the primary's transfer endpoint behind a proxy that resets, delays and refuses connections",
    cluster: { workers: 3, syncTimeoutMs: 30_000 },
    async inject(context) {
      const proxy = context.cluster.proxy;
      const modes: ProxyMode[] = ['reset', 'delay', 'refuse', 'reset', 'pass'];
      await untilEnd(context, async () => {
        const mode = context.random.pick(modes);
        await proxy.setMode(mode);
        if (mode !== 'pass') context.fault(`proxy ${mode}`);
        await sleep(context.random.int(1_500, 4_000));
      });
      await proxy.setMode('pass');
    },
  },
  {
    id: 5,
    title: 'rows deleted on the primary while their blobs replicate',
    cluster: { workers: 3, syncTimeoutMs: 30_000 },
    deleteShare: 0.2,
    inject: async (context) => {
      // the faults are the deletes, made by the workload driver after each wave
      while (Date.now() < context.until) await sleep(200);
    },
  },
  {
    id: 6,
    title: "secondary files corrupted (a byte flipped) and deleted after they were verified",
    // fast cadences so reverification (every 5 s here, 7 days by default) finds the damage in a short run
    cluster: {
      workers: 2,
      primaryEnv: { GEO_VERIFICATION_INTERVAL_MS: '2000' },
      secondaryEnv: { GEO_VERIFICATION_INTERVAL_MS: '2000', GEO_REVERIFICATION_INTERVAL_MS: '5000' },
    },
    requireVerified: true,
    async inject(context) {
      const damaged = new Set<bigint>();
      await untilEnd(context, async () => {
        await sleep(context.random.int(300, 1_200));
        const kind = context.random.chance(0.5) ? 'flip' : 'delete';
        if (await damageVerifiedBlob(context.cluster, context.random, kind, damaged)) {
          context.fault(kind === 'flip' ? 'byte flipped in a verified secondary file' : 'verified secondary file deleted');
        }
      });
    },
  },
  claimsScenario(7),
];

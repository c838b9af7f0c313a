import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  BulkAction,
  BulkOperationState,
  RegistryAction,
  RegistrySort,
  ReplicationState,
  SortDirection,
  VerificationState,
  type BulkOperation,
  type Registry,
} from '@meridian/proto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { RegistryFilterSchema } from '@meridian/proto';
import { printTable, type CliIo } from '../io';
import { watchBulkOperation } from '../bulk-progress';
import { ServiceUnavailableError } from '../services';
import { openSiteApi, type SiteApi } from '../site-api-client';

// `meridian geo registries …`: the registry admin API of a secondary, through its site API
// (SITE_API_URL, SITE_API_TOKEN). Nothing here opens a database.

const STATES = ['pending', 'started', 'synced', 'failed'] as const;
const VERIFICATION_STATES = ['pending', 'started', 'succeeded', 'failed', 'disabled'] as const;
const SORTS = ['id', 'verified_at', 'last_synced_at'] as const;
const MAX_LIMIT = 10_000;

interface FilterOptions {
  state?: (typeof STATES)[number];
  verificationState?: (typeof VERIFICATION_STATES)[number];
  ids?: bigint[];
  keyword?: string;
}

function idList(value: string): bigint[] {
  const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0 || parts.some((p) => !/^[1-9]\d{0,18}$/.test(p))) throw new InvalidArgumentError('expected comma-separated positive registry ids');
  return parts.map((p) => BigInt(p));
}

function limit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw new InvalidArgumentError(`expected 1..${MAX_LIMIT}`);
  return n;
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

function withFilters(command: Command): Command {
  return command
    .addOption(new Option('--state <state>', 'replication state').choices(STATES))
    .addOption(new Option('--verification-state <state>', 'verification state').choices(VERIFICATION_STATES))
    .option('--ids <ids>', 'comma-separated registry ids', idList)
    .option('--keyword <text>', 'substring of the blob path or of the model id');
}

function filterOf(options: FilterOptions): MessageInitShape<typeof RegistryFilterSchema> {
  return {
    ids: options.ids ?? [],
    replicationState: options.state ? ReplicationState[options.state.toUpperCase() as keyof typeof ReplicationState] : ReplicationState.UNSPECIFIED,
    verificationState: options.verificationState ? VerificationState[options.verificationState.toUpperCase() as keyof typeof VerificationState] : VerificationState.UNSPECIFIED,
    keyword: options.keyword ?? '',
  };
}

const hasFilter = (o: FilterOptions) => Boolean(o.state || o.verificationState || o.ids || o.keyword);
const date = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : null);
const lower = (name: string | undefined) => (name ?? 'unknown').toLowerCase();

/** A registry as the CLI prints it (snake_case, as the status fields are). */
function registryRow(r: Registry): Record<string, unknown> {
  return {
    id: Number(r.id),
    model_id: Number(r.modelId),
    state: lower(ReplicationState[r.replicationState]),
    verification_state: lower(VerificationState[r.verificationState]),
    retry_count: r.retryCount,
    retry_at: date(r.retryAt),
    last_synced_at: date(r.lastSyncedAt),
    last_sync_failure: r.lastSyncFailure ?? null,
    missing_on_primary: r.missingOnPrimary,
    verification_retry_count: r.verificationRetryCount,
    verification_retry_at: date(r.verificationRetryAt),
    verified_at: date(r.verifiedAt),
    verification_failure: r.verificationFailure ?? null,
    checksum_mismatch: r.checksumMismatch,
    blob_path: r.blobPath ?? null,
  };
}

function tableRow(r: Registry): Record<string, unknown> {
  const failure = r.lastSyncFailure ?? r.verificationFailure;
  return {
    id: r.id,
    model: r.modelId,
    state: lower(ReplicationState[r.replicationState]),
    verification: lower(VerificationState[r.verificationState]) + (r.checksumMismatch ? ' (mismatch)' : ''),
    retries: `${r.retryCount}/${r.verificationRetryCount}`,
    'last synced': date(r.lastSyncedAt),
    verified: date(r.verifiedAt),
    failure: failure && failure.length > 60 ? `${failure.slice(0, 59)}…` : failure,
  };
}

export function bulkOperationRow(op: BulkOperation): Record<string, unknown> {
  return {
    id: Number(op.id),
    replicable: op.replicable,
    action: lower(BulkAction[op.action]),
    state: lower(BulkOperationState[op.state]),
    cursor: Number(op.cursor),
    max_id: Number(op.maxId),
    examined: Number(op.examined),
    updated: Number(op.updated),
    progress_percent: op.progressPercent,
    created_at: date(op.createdAt),
    finished_at: date(op.finishedAt),
    failure: op.failure ?? null,
  };
}

async function call<T>(api: SiteApi, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw api.explain(error);
  }
}

interface ActionOptions extends FilterOptions {
  all?: boolean;
  wait: boolean;
  timeout: number;
  json?: boolean;
}

function registerAction(registries: Command, io: CliIo, name: 'resync' | 'reverify'): void {
  const single = name === 'resync' ? RegistryAction.RESYNC : RegistryAction.REVERIFY;
  const bulk = name === 'resync' ? BulkAction.RESYNC_ALL : BulkAction.REVERIFY_ALL;
  const what = name === 'resync' ? 'back to pending and queue their sync' : 'send their verification back to pending (the file is re-read)';
  const command = withFilters(
    registries
      .command(`${name} <replicable> [ids...]`)
      .description(`${what}: the given registry ids, or --all (optionally filtered) as a bulk operation`)
      .option('--all', 'every registry of the type (narrowed by the filters), as a bulk operation run by the workers'),
  )
    .option('--no-wait', 'with --all: print the operation and return instead of showing its progress')
    .option('--timeout <seconds>', 'with --all: give up waiting (exit 1) after this long; the operation continues', positiveSeconds, 600)
    .option('--json', 'machine-readable output');
  command.action(async (replicable: string, ids: string[], options: ActionOptions) => {
    if (options.all && ids.length > 0) command.error('error: give registry ids or --all, not both', { exitCode: 2, code: 'meridian.usage' });
    if (!options.all && ids.length === 0) command.error('error: give registry ids or --all', { exitCode: 2, code: 'meridian.usage' });
    if (!options.all && hasFilter(options)) command.error('error: filters (--state, --verification-state, --ids, --keyword) go with --all', { exitCode: 2, code: 'meridian.usage' });
    const bad = ids.find((id) => !/^[1-9]\d{0,18}$/.test(id));
    if (bad !== undefined) command.error(`error: "${bad}" is not a positive registry id`, { exitCode: 2, code: 'meridian.usage' });
    const api = openSiteApi(io);
    if (!options.all) {
      const updated: Registry[] = [];
      for (const id of ids) {
        const { registry } = await call(api, () => api.client.updateRegistry({ replicable, id: BigInt(id), action: single }));
        if (registry) updated.push(registry);
      }
      if (options.json) printTable(io, updated.map(registryRow), true);
      else printTable(io, updated.map(tableRow), false);
      return;
    }
    const { operation } = await call(api, () => api.client.bulkUpdateRegistries({ replicable, action: bulk, filter: filterOf(options) }));
    if (!operation) throw new Error('the site API answered without an operation');
    if (!options.wait) {
      if (options.json) io.out(`${JSON.stringify(bulkOperationRow(operation), null, 2)}\n`);
      else io.out(`bulk operation ${operation.id} recorded (${name} ${replicable}, registry ids up to ${operation.maxId}); follow it with \`meridian geo registries operation ${operation.id}\`\n`);
      return;
    }
    const final = await watchBulkOperation({
      operation,
      poll: () => call(api, async () => (await api.client.getBulkOperation({ id: operation.id })).operation ?? operation),
      timeoutMs: options.timeout * 1000,
      tty: io.isTty && !options.json,
      write: options.json ? () => undefined : io.out,
    });
    if (options.json) io.out(`${JSON.stringify(bulkOperationRow(final), null, 2)}\n`);
    else io.out(`bulk operation ${final.id}: ${lower(BulkOperationState[final.state])}, ${final.updated} of ${final.examined} registries examined updated${final.failure ? ` (${final.failure})` : ''}\n`);
    if (final.state === BulkOperationState.RUNNING) {
      throw new ServiceUnavailableError(
        `bulk operation ${final.id} still running after ${options.timeout} s (it continues; \`meridian geo registries operation ${final.id}\` shows it)`,
      );
    }
    if (final.state === BulkOperationState.FAILED) throw new Error(`bulk operation ${final.id} failed: ${final.failure ?? 'no reason recorded'}`);
  });
}

export function registerGeoRegistriesCommands(geo: Command, io: CliIo): void {
  const registries = geo.command('registries').description("a secondary's registries through its site API (SITE_API_URL, SITE_API_TOKEN): list, resync, reverify");

  withFilters(
    registries
      .command('list <replicable>')
      .description('registries of one type, filtered and sorted (a viewer token suffices)'),
  )
    .addOption(new Option('--sort <field>', 'sort by').choices(SORTS).default('id'))
    .option('--desc', 'descending order')
    .option('--limit <n>', `rows to show (1..${MAX_LIMIT})`, limit, 20)
    .option('--json', 'machine-readable output')
    .action(async (replicable: string, options: FilterOptions & { sort: (typeof SORTS)[number]; desc?: boolean; limit: number; json?: boolean }) => {
      const api = openSiteApi(io);
      const sort = { id: RegistrySort.ID, verified_at: RegistrySort.VERIFIED_AT, last_synced_at: RegistrySort.LAST_SYNCED_AT }[options.sort];
      const rows: Registry[] = [];
      let pageToken = '';
      let more = false;
      while (rows.length < options.limit) {
        const page = await call(api, () =>
          api.client.listRegistries({
            replicable,
            filter: filterOf(options),
            sort,
            direction: options.desc ? SortDirection.DESC : SortDirection.ASC,
            pageSize: Math.min(100, options.limit - rows.length),
            pageToken,
          }),
        );
        rows.push(...page.registries);
        pageToken = page.nextPageToken;
        more = pageToken !== '';
        if (!more) break;
      }
      if (options.json) {
        printTable(io, rows.map(registryRow), true);
        return;
      }
      printTable(io, rows.map(tableRow), false);
      if (more) io.err(`(more registries match: raise --limit, at most ${MAX_LIMIT})\n`);
    });

  registerAction(registries, io, 'resync');
  registerAction(registries, io, 'reverify');

  registries
    .command('operation <id>')
    .description('a bulk operation (from resync/reverify --all): state, cursor, progress')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      if (!/^[1-9]\d{0,18}$/.test(id)) command.error(`error: "${id}" is not a positive operation id`, { exitCode: 2, code: 'meridian.usage' });
      const api = openSiteApi(io);
      const { operation } = await call(api, () => api.client.getBulkOperation({ id: BigInt(id) }));
      if (!operation) throw new Error('the site API answered without an operation');
      printTable(io, [bulkOperationRow(operation)], Boolean(options.json));
    });
}

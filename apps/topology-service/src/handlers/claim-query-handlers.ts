import type { ServiceImpl } from '@connectrpc/connect';
import { ListLeasesCursorCodec } from './lease-cursor';
import type { ClaimService } from '@meridian/proto';
import type { CellDirectory } from '../claims/cells';
import { checkKey, claimKeyOf, requireSourceType } from '../claims/validation';
import { isKnownBucketType, MAX_SOURCE_ID_BYTES } from '@meridian/claims/rules';
import { RecordNotFoundError, toConnectError, ValidationError } from '../claims/errors';
import { microsFromTimestamp, recordFromRow, timestampFromMicros } from '../claims/records';
import type { ClaimQueries } from '../repository/claim-queries';
import { requireKnownCell } from './claim-update-handlers';

// GetCells, GetRecord, ListLeases, ListRecords.

type QueryHandlers = Pick<ServiceImpl<typeof ClaimService>, 'getCells' | 'getRecord' | 'listLeases' | 'listRecords'>;

const DEFAULT_LEASE_LIMIT = 100;
const MAX_LEASE_LIMIT = 1000;

export function createQueryHandlers(deps: {
  queries: ClaimQueries;
  cells: CellDirectory;
  listRecordsPageSize: number;
}): QueryHandlers {
  const { queries, cells, listRecordsPageSize } = deps;
  return {
    getCells() {
      return { cells: cells.all() };
    },

    async getRecord(req) {
      try {
        const key = claimKeyOf(req.bucket, req.claim, 'request');
        checkKey(key, 'request');
        const row = await queries.getRecord(key);
        if (!row) throw new RecordNotFoundError('no claim for that value');
        return { record: recordFromRow(row), cellInfo: cells.byId(row.cell_id) };
      } catch (error) {
        throw toConnectError(error);
      }
    },

    async listLeases(req) {
      try {
        const cellId = requireKnownCell(cells, req.cellId);
        if (req.limit !== undefined && (req.limit < 0 || req.limit > MAX_LEASE_LIMIT)) {
          throw new ValidationError(`limit must be between 0 and ${MAX_LEASE_LIMIT}`);
        }
        const limit = req.limit || DEFAULT_LEASE_LIMIT;
        const cursor = req.next ? ListLeasesCursorCodec.decode(req.next) : undefined;
        const { rows, more } = await queries.listLeases({
          cellId,
          limit,
          cursor,
          createdAfterUs: req.createdAfter ? microsFromTimestamp(req.createdAfter) : undefined,
        });
        const last = rows.at(-1);
        return {
          leases: rows.map((r) => ({
            uuid: { value: r.uuid },
            createdAt: timestampFromMicros(r.created_us),
            updatedAt: timestampFromMicros(r.updated_us),
          })),
          next: more && last ? ListLeasesCursorCodec.encode({ createdText: last.created_text, uuid: last.uuid }) : undefined,
        };
      } catch (error) {
        throw toConnectError(error);
      }
    },

    async listRecords(req) {
      try {
        const cellId = requireKnownCell(cells, req.cellId);
        const sourceType = requireSourceType(req.sourceType, 'source_type');
        // bucket_types and claim_types share numbers; either (or both) narrows the result
        const types = [...new Set([...req.bucketTypes, ...req.claimTypes])];
        for (const t of types) {
          if (!isKnownBucketType(t)) throw new ValidationError(`bucket/claim type ${t} is UNSPECIFIED or unknown`);
        }
        for (const [name, bytes] of [['source_id_gt', req.sourceIdGt], ['source_id_lte', req.sourceIdLte]] as const) {
          if (bytes.length > MAX_SOURCE_ID_BYTES) throw new ValidationError(`${name} is longer than ${MAX_SOURCE_ID_BYTES} bytes`);
        }
        const { rows, truncated } = await queries.listRecords({
          cellId,
          sourceType,
          bucketTypes: types,
          sourceIdGt: req.sourceIdGt,
          sourceIdLte: req.sourceIdLte.length > 0 ? req.sourceIdLte : undefined,
          pageSize: listRecordsPageSize,
        });
        return { records: rows.map(recordFromRow), truncated };
      } catch (error) {
        throw toConnectError(error);
      }
    },
  };
}

import type { ServiceImpl } from '@connectrpc/connect';
import { Code, ConnectError } from '@connectrpc/connect';
import { ClassifyAction, ClassifyType, type ClassifyService, type CellInfo, type ClassifyResponse } from '@meridian/proto';
import { keyString, type ClaimKey } from '@meridian/claims/rules';
import { keyFromClaim } from '../claims/claim-key';
import type { CellDirectory } from '../claims/cells';
import { toConnectError, ValidationError } from '../claims/errors';
import { checkKey } from '../claims/validation';
import type { ClaimQueries } from '../repository/claim-queries';

// Routing: which cell serves a request. Claims are the routing table; a claim being destroyed
// still routes to its owner until the destroy commits, a claim being created does not route yet.

const MAX_CLASSIFY_CLAIMS = 100;

function proxyTo(cell: CellInfo, matchedClaim?: ClassifyResponse['matchedClaim']) {
  return { action: ClassifyAction.PROXY, proxy: { address: cell.address }, matchedClaim };
}

export function createClassifyHandlers(deps: {
  queries: ClaimQueries;
  cells: CellDirectory;
}): ServiceImpl<typeof ClassifyService> {
  const { queries, cells } = deps;
  return {
    getCells() {
      return { cells: cells.all() };
    },

    async classify(req) {
      try {
        switch (req.type) {
          case ClassifyType.FIRST_CELL:
            return proxyTo(cells.first());
          case ClassifyType.SESSION_PREFIX: {
            if (!req.value) throw new ValidationError('value (the session cookie) is required for SESSION_PREFIX');
            const cell = cells.bySessionPrefix(req.value);
            if (!cell) throw new ConnectError('no cell has that session prefix', Code.NotFound);
            return proxyTo(cell);
          }
          case ClassifyType.CELL_ID: {
            if (!/^[1-9]\d{0,18}$/.test(req.value)) throw new ValidationError('value must be a positive cell id for CELL_ID');
            const cell = cells.byId(BigInt(req.value));
            if (!cell) throw new ConnectError(`cell ${req.value} is not configured`, Code.NotFound);
            return proxyTo(cell);
          }
          case ClassifyType.UNSPECIFIED:
            break;
          default:
            throw new ValidationError(`type ${req.type} is unknown`);
        }
        if (req.claims.length === 0) throw new ValidationError('claims (or a type with a value) are required');
        if (req.claims.length > MAX_CLASSIFY_CLAIMS) throw new ValidationError(`at most ${MAX_CLASSIFY_CLAIMS} claims`);
        const keys: ClaimKey[] = req.claims.map((claim, i) => {
          const key = keyFromClaim(claim);
          if (!key) throw new ValidationError(`claims[${i}]: no claim field is set`);
          checkKey(key, `claims[${i}]`);
          return key;
        });
        const owners = new Map((await queries.owners(keys)).map((r) => [keyString({ type: r.bucket_type, value: r.bucket_value }), r.cell_id]));
        for (const [i, key] of keys.entries()) {
          const owner = owners.get(keyString(key));
          const cell = owner === undefined ? undefined : cells.byId(owner);
          if (cell) return proxyTo(cell, req.claims[i]);
        }
        throw new ConnectError('no cell owns any of the given claims', Code.NotFound);
      } catch (error) {
        throw toConnectError(error);
      }
    },
  };
}

import type { ServiceImpl } from '@connectrpc/connect';
import type { ClaimService } from '@meridian/proto';
import { toConnectError, ValidationError } from '../claims/errors';
import type { CellDirectory } from '../claims/cells';
import { requireCellId, requireLeaseUuid, validateBeginUpdate } from '../claims/validation';
import type { ClaimUpdates } from '../repository/claim-updates';

// BeginUpdate / CommitUpdate / RollbackUpdate. Authorization (the caller may act for cell_id)
// already happened in the auth interceptor; here cell_id must also name a configured cell, which
// matters for admins, who may act for any.

type UpdateHandlers = Pick<ServiceImpl<typeof ClaimService>, 'beginUpdate' | 'commitUpdate' | 'rollbackUpdate'>;

export function requireKnownCell(cells: CellDirectory, cellId: bigint): bigint {
  requireCellId(cellId);
  if (!cells.byId(cellId)) throw new ValidationError(`cell_id ${cellId} is not a configured cell`);
  return cellId;
}

export function createUpdateHandlers(deps: { updates: ClaimUpdates; cells: CellDirectory }): UpdateHandlers {
  const { updates, cells } = deps;
  return {
    async beginUpdate(req) {
      try {
        const input = validateBeginUpdate(req);
        requireKnownCell(cells, input.cellId);
        const lease = await updates.begin(input);
        return { cellId: input.cellId, leaseUuid: { value: lease } };
      } catch (error) {
        throw toConnectError(error);
      }
    },
    async commitUpdate(req) {
      try {
        const cellId = requireKnownCell(cells, req.cellId);
        await updates.commit(cellId, requireLeaseUuid(req.leaseUuid));
        return {};
      } catch (error) {
        throw toConnectError(error);
      }
    },
    async rollbackUpdate(req) {
      try {
        const cellId = requireKnownCell(cells, req.cellId);
        await updates.rollback(cellId, requireLeaseUuid(req.leaseUuid));
        return {};
      } catch (error) {
        throw toConnectError(error);
      }
    },
  };
}

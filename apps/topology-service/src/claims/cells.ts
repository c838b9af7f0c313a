import { create } from '@bufbuild/protobuf';
import type { CellConfig } from '@meridian/config';
import { CellInfoSchema, type CellInfo } from '@meridian/proto';

// The static cell list from configuration, with the lookups Classify needs.

export interface CellDirectory {
  all(): CellInfo[];
  byId(id: bigint): CellInfo | undefined;
  /** the cell whose session prefix starts the value (longest prefix wins) */
  bySessionPrefix(value: string): CellInfo | undefined;
  first(): CellInfo;
}

export function createCellDirectory(cells: readonly CellConfig[]): CellDirectory {
  if (cells.length === 0) throw new Error('at least one cell must be configured');
  const infos = [...cells]
    .sort((a, b) => a.id - b.id)
    .map((c) => create(CellInfoSchema, { id: BigInt(c.id), address: c.address, sessionPrefix: c.sessionPrefix }));
  const byPrefixLength = [...infos].sort((a, b) => b.sessionPrefix.length - a.sessionPrefix.length);
  return {
    all: () => infos,
    byId: (id) => infos.find((c) => c.id === id),
    bySessionPrefix: (value) => byPrefixLength.find((c) => value.startsWith(c.sessionPrefix)),
    first: () => infos[0]!,
  };
}

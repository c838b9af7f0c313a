import { create } from '@bufbuild/protobuf';
import { ClaimSchema } from '@meridian/proto';
import type { TopologyClient } from '@meridian/topology-client';
import { isIntegerBucketType, type ClaimKey } from '../claim-key';

// Which cell owns a value another cell could not claim: Classify with the claim (the router's
// lookup) gives the owner's address, GetCells maps it to a cell id. Undefined when no cell owns it
// yet (the value is held by an open lease) or the lookup fails: the conflict is reported anyway.

const claimFields = new Map(ClaimSchema.oneofs[0]!.fields.map((f) => [f.number, f]));

export type OwnerLookup = (key: ClaimKey) => Promise<number | undefined>;

export function createOwnerLookup(client: TopologyClient): OwnerLookup {
  let cells: Promise<Map<string, number>> | undefined;
  return async (key) => {
    const field = claimFields.get(key.type);
    if (!field) return undefined;
    try {
      cells ??= client.getCells().then((list) => new Map(list.map((c) => [c.address, Number(c.id)])));
      const value = isIntegerBucketType(key.type) ? BigInt(key.value) : key.value;
      const claim = create(ClaimSchema, { claim: { case: field.localName, value } as never });
      const answer = await client.classify({ claims: [claim] }, { mode: 'background' });
      const address = answer.proxy?.address;
      return address === undefined ? undefined : (await cells).get(address);
    } catch {
      cells = undefined;
      return undefined;
    }
  };
}

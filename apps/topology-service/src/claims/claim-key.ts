import { create, ScalarType } from '@bufbuild/protobuf';
import { isCanonicalId, type ClaimKey } from '@meridian/claims/rules';
import { ClaimSchema, type Bucket, type Claim } from '@meridian/proto';

// Claim keys, type names and value rules come from @meridian/claims (shared with the cells); this
// file only converts between keys and the wire messages. Bucket.Type N and the Claim oneof field
// numbered N are the same type, so the mapping is read from the generated descriptors.

const claimFieldByNumber = new Map(ClaimSchema.oneofs[0]!.fields.map((f) => [f.number, f]));
const claimFieldByName = new Map(ClaimSchema.oneofs[0]!.fields.map((f) => [f.localName, f]));

/** The key of a types.v1.Claim, or undefined when no field of the oneof is set. */
export function keyFromClaim(claim: Claim): ClaimKey | undefined {
  if (claim.claim.case === undefined) return undefined;
  const field = claimFieldByName.get(claim.claim.case);
  if (!field) return undefined;
  return { type: field.number, value: String(claim.claim.value) };
}

export function keyFromBucket(bucket: Bucket): ClaimKey {
  return { type: bucket.type, value: bucket.value };
}

/**
 * The Claim oneof for a key, when this build has a field with that number. Integer claims
 * (project_id, …) only convert when the stored text is a canonical id.
 */
export function claimFromKey(key: ClaimKey): Claim | undefined {
  const field = claimFieldByNumber.get(key.type);
  if (!field || field.fieldKind !== 'scalar') return undefined;
  if (field.scalar !== ScalarType.STRING) {
    if (!isCanonicalId(key.value)) return undefined;
    return create(ClaimSchema, { claim: { case: field.localName, value: BigInt(key.value) } as Claim['claim'] });
  }
  return create(ClaimSchema, { claim: { case: field.localName, value: key.value } as Claim['claim'] });
}

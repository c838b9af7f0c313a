import { create, toBinary, fromBinary, type DescEnum, type DescMessage } from '@bufbuild/protobuf';
import {
  BeginUpdateRequestSchema,
  Bucket_TypeSchema,
  BucketSchema,
  ClaimService,
  ListRecordsRequestSchema,
  MetadataSchema,
  Record_StatusSchema,
  RecordSchema,
  Source_TypeSchema,
  SourceSchema,
  Subject_TypeSchema,
  SubjectSchema,
} from '../src';

// The upstream claims v1 contract (shared/reference/topology-claims-v1.md): numbers are the wire.
const numbers = (message: DescMessage) => Object.fromEntries(message.fields.map((f) => [f.name, f.number]));
const values = (enumeration: DescEnum) => Object.fromEntries(enumeration.values.map((v) => [v.localName, v.number]));

describe('claims v1 wire contract', () => {
  it('keeps the message field numbers', () => {
    expect(BucketSchema.typeName).toBe('gitlab.cells.topology_service.claims.v1.Bucket');
    expect(numbers(BucketSchema)).toEqual({ type: 1, value: 2 });
    expect(numbers(SubjectSchema)).toEqual({ type: 1, id: 2 });
    expect(numbers(SourceSchema)).toEqual({ type: 1, rails_primary_key_id: 2 });
    expect(numbers(MetadataSchema)).toMatchObject({ bucket: 1, subject: 2, source: 3 });
    expect(numbers(RecordSchema)).toEqual({ uuid: 1, metadata: 2, cell_id: 3, status: 4, lease_uuid: 5, created_at: 6, updated_at: 7 });
    expect(numbers(BeginUpdateRequestSchema)).toEqual({ create_records: 1, destroy_records: 2, cell_id: 3 });
    expect(numbers(ListRecordsRequestSchema)).toMatchObject({ cell_id: 1, source_type: 2, bucket_types: 3, source_id_gt: 4, source_id_lte: 5 });
  });

  it('keeps the enum values', () => {
    expect(values(Bucket_TypeSchema)).toMatchObject({ UNSPECIFIED: 0, ROUTES: 1, USERNAMES: 4, EMAILS: 5, PROJECT_IDS: 6, SSH_KEY_FINGERPRINTS: 15, PAGES_UNIQUE_DOMAINS: 18 });
    expect(Object.values(values(Bucket_TypeSchema))).not.toContain(14);
    expect(values(Subject_TypeSchema)).toEqual({ UNSPECIFIED: 0, ORGANIZATION: 1, NAMESPACE: 2, PROJECT: 3, USER: 4 });
    expect(values(Source_TypeSchema)).toMatchObject({ UNSPECIFIED: 0, RAILS_TABLE_USERS: 1, RAILS_TABLE_EMAILS: 2, RAILS_TABLE_PROJECT_SETTINGS: 14 });
    expect(values(Record_StatusSchema)).toEqual({ UNSPECIFIED: 0, ACTIVE: 1, LEASE_CREATING: 2, LEASE_DESTROYING: 3 });
  });

  it('keeps the RPC names of ClaimService', () => {
    expect(ClaimService.typeName).toBe('gitlab.cells.topology_service.claims.v1.ClaimService');
    expect(ClaimService.methods.map((m) => m.name).sort()).toEqual(
      ['BeginUpdate', 'CommitUpdate', 'GetCells', 'GetRecord', 'ListLeases', 'ListRecords', 'RollbackUpdate'].sort(),
    );
  });

  it('encodes cell_id as field 3 varint and round-trips a create', () => {
    const request = create(BeginUpdateRequestSchema, {
      cellId: 7n,
      createRecords: [{ bucket: { type: 4, value: 'alice' }, subject: { type: 4, id: 42n }, source: { type: 1, railsPrimaryKeyId: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 42]) } }],
    });
    const bytes = toBinary(BeginUpdateRequestSchema, request);
    // last field written is cell_id: tag (3 << 3 | 0) = 0x18, value 7
    expect([...bytes.slice(-2)]).toEqual([0x18, 7]);
    const decoded = fromBinary(BeginUpdateRequestSchema, bytes);
    expect(decoded.createRecords[0]?.bucket?.value).toBe('alice');
    expect(decoded.createRecords[0]?.subject?.id).toBe(42n);
  });
});

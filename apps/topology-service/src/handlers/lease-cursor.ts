import { anyPack, anyUnpack, StringValueSchema, type Any } from '../claims/proto-runtime';
import { ValidationError } from '../claims/errors';
import type { LeaseCursor } from '../repository/claim-queries';

// ListLeases' `next` is an opaque google.protobuf.Any. Ours wraps a StringValue holding the last
// lease's exact created_at text and uuid; clients only pass it back.

const SEPARATOR = '|';

export const ListLeasesCursorCodec = {
  encode(cursor: LeaseCursor): Any {
    return anyPack(StringValueSchema, { $typeName: 'google.protobuf.StringValue', value: `v1${SEPARATOR}${cursor.createdText}${SEPARATOR}${cursor.uuid}` });
  },
  decode(any: Any): LeaseCursor {
    const value = anyUnpack(any, StringValueSchema)?.value;
    const parts = value?.split(SEPARATOR);
    if (!parts || parts.length !== 3 || parts[0] !== 'v1' || !parts[1] || !/^[0-9a-f-]{36}$/.test(parts[2] ?? '')) {
      throw new ValidationError('next is not a cursor returned by ListLeases');
    }
    if (Number.isNaN(Date.parse(parts[1].replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')))) {
      throw new ValidationError('next is not a cursor returned by ListLeases');
    }
    return { createdText: parts[1], uuid: parts[2]! };
  },
};

// The protobuf runtime pieces the service uses, in one place.
export { fromBinary, toBinary, create } from '@bufbuild/protobuf';
export { AnySchema, TimestampSchema, StringValueSchema, anyPack, anyUnpack, type Timestamp, type Any } from '@bufbuild/protobuf/wkt';

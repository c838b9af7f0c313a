// Generated code lives in ./gen (never edit it by hand: `npm run generate -w @meridian/proto`).
// Claims v1 and types v1 are re-exported flat; the unversioned root package (classify, cell info,
// authorization) too, except its GetCells messages, whose names clash with claims v1's.
export * from './gen/types/v1/uuid_pb';
export * from './gen/types/v1/claim_pb';
export * from './gen/claims/v1/messages_pb';
export * from './gen/claims/v1/service_pb';
export * from './gen/classify/autz_pb';
export * from './gen/classify/cell_info_pb';
export {
  file_classify_classify_service,
  ClassifyService,
  ClassifyRequestSchema,
  ClassifyResponseSchema,
  ProxyInfoSchema,
  ClassifyType,
  ClassifyTypeSchema,
  ClassifyAction,
  ClassifyActionSchema,
  GetCellsRequestSchema as ClassifyGetCellsRequestSchema,
  GetCellsResponseSchema as ClassifyGetCellsResponseSchema,
} from './gen/classify/classify_service_pb';
export type {
  ClassifyRequest,
  ClassifyResponse,
  ProxyInfo,
  GetCellsRequest as ClassifyGetCellsRequest,
  GetCellsResponse as ClassifyGetCellsResponse,
} from './gen/classify/classify_service_pb';
// Geo registry admin API (meridian.geo.v1), served by a secondary's site API
export * from './gen/geo/v1/registries_pb';

/**
 * The geo event names, shared by every producer (triggers, the verification batch) and consumer
 * (the secondary's event cursor). `geo_events.event_name` has a CHECK with the same list.
 */
export const GEO_EVENT_NAMES = ['created', 'updated', 'deleted', 'checksum_succeeded'] as const;
export type GeoEventName = (typeof GEO_EVENT_NAMES)[number];

export function isGeoEventName(name: string): name is GeoEventName {
  return (GEO_EVENT_NAMES as readonly string[]).includes(name);
}

/** An event this code does not know (a newer primary): logged and counted by the cursor, never silently dropped. */
export class UnknownGeoEventError extends Error {
  override readonly name = 'UnknownGeoEventError';
  constructor(
    readonly eventName: string,
    readonly eventId: bigint,
  ) {
    super(`geo event ${eventId} has unknown name "${eventName}" (known: ${GEO_EVENT_NAMES.join(', ')})`);
  }
}

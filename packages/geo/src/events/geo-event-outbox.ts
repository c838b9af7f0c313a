import type { Db } from '@meridian/db';
import type { GeoEventName } from './event-names';

/** Writes outbox events of one type and name in the caller's transaction (the triggers write the model events). */
export async function insertGeoEvents(db: Db, replicableName: string, eventName: GeoEventName, payloads: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  if (payloads.length === 0) return;
  await db`
    insert into geo_events (replicable_name, event_name, payload)
    select ${replicableName}, ${eventName}, p from jsonb_array_elements(${db.json(payloads as never)}) p`;
}

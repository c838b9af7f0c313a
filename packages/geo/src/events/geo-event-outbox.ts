import type { Db } from '@meridian/db';
import type { GeoEventName } from './event-names';

/** Writes one outbox event in the caller's transaction (the triggers write the model events). */
export async function insertGeoEvent(db: Db, replicableName: string, eventName: GeoEventName, payload: Record<string, unknown>): Promise<void> {
  await db`insert into geo_events (replicable_name, event_name, payload) values (${replicableName}, ${eventName}, ${db.json(payload as never)})`;
}

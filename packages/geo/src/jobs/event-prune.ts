import type { PrimaryGeoContext } from '../geo-context';

/**
 * Primary: deletes events every secondary has processed, at most `pruneLimit` per run. Nothing is
 * deleted while no secondary has reported yet, or while any secondary's report is stale (it may
 * still need them); `meridian geo sites remove` forgets a secondary for good.
 */
export async function runEventPrune(context: PrimaryGeoContext): Promise<{ deleted: number; reason?: string }> {
  const sql = context.mainSql;
  const sites = await sql<{ site_name: string; cursor_event_id: bigint; stale: boolean }[]>`
    select site_name, cursor_event_id, reported_at < now() - make_interval(secs => ${context.settings.secondaryStaleMs / 1000}) as stale
    from geo_secondary_sites`;
  if (sites.length === 0) return { deleted: 0, reason: 'no secondary has reported yet' };
  const stale = sites.filter((s) => s.stale).map((s) => s.site_name);
  if (stale.length > 0) {
    context.logger.warn({ sites: stale }, 'event prune skipped: secondary status is stale');
    return { deleted: 0, reason: `stale secondaries: ${stale.join(', ')}` };
  }
  const below = sites.reduce((min, s) => (s.cursor_event_id < min ? s.cursor_event_id : min), sites[0]!.cursor_event_id);
  const deleted = await sql`
    delete from geo_events where id in (
      select id from geo_events where id <= ${below.toString()} order by id limit ${context.settings.pruneLimit})`;
  return { deleted: deleted.count };
}

import { requireSecret, type SecondaryGeoContext } from '../geo-context';
import { signTransferToken } from '../transfer';

/** The token subject secondaries use to report their status (no blob involved). */
export const SITE_STATUS_SUBJECT = { replicable: 'geo_site_status', id: 1n } as const;
export const SITE_STATUS_PATH = '/api/v1/geo/sites/:site/status';

/**
 * How far this secondary has consumed the event log: the cursor, or just below the oldest gap
 * still open (those events may yet commit and must not be pruned).
 */
export async function cursorPosition(context: SecondaryGeoContext): Promise<bigint> {
  const tracking = context.trackingSql;
  const [row] = await tracking<{ position: bigint }[]>`
    select least((select last_event_id from geo_event_cursor where id = 1), (select min(event_id) - 1 from geo_event_gaps)) as position`;
  return row?.position ?? 0n;
}

export async function runStatusReport(context: SecondaryGeoContext): Promise<{ cursorEventId: string }> {
  const position = await cursorPosition(context);
  const url = new URL(SITE_STATUS_PATH.replace(':site', encodeURIComponent(context.siteName)), context.primaryUrl);
  const token = await signTransferToken({ secret: requireSecret(context), ...SITE_STATUS_SUBJECT });
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cursorEventId: position.toString() }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`primary refused the status report: HTTP ${response.status} ${await response.text()}`);
  return { cursorEventId: position.toString() };
}

/** The queries behind the admin dashboard: per-minute series over the last `minutes`. */
import type { AnalyticsStore } from "./store.js";

export interface DashboardData {
  qoe: Record<string, unknown>[];
  engagement: Record<string, unknown>[];
  health: Record<string, unknown>[];
  errors: Record<string, unknown>[];
}

const idOk = (s: string) => /^[A-Za-z0-9_-]{1,64}$/.test(s);

export async function dashboard(store: AnalyticsStore, minutes: number, stream?: string): Promise<DashboardData> {
  const since = `toDateTime(${Math.floor(Date.now() / 1000) - minutes * 60})`;
  const byStream = stream && idOk(stream) ? ` AND stream_id = '${stream}'` : "";
  const [qoe, engagement, health, errors] = await Promise.all([
    store.rows<Record<string, unknown>>(
      `SELECT stream_id, minute, views, startup_ms_p50_p95, rebuffer_pct, ebvs_pct, failure_pct, avg_bitrate_kbps, switches_per_view, errors
       FROM qoe_per_minute WHERE minute >= ${since}${byStream} ORDER BY minute, stream_id`,
    ),
    store.rows<Record<string, unknown>>(
      `SELECT stream_id, minute, concurrent_viewers, chats_per_min, reactions_per_min, poll_participation_pct
       FROM engagement_per_minute WHERE minute >= ${since}${byStream} ORDER BY minute, stream_id`,
    ),
    store.rows<Record<string, unknown>>(`SELECT node, minute, cpu_pct, memory_bytes, connections FROM health_per_minute WHERE minute >= ${since} ORDER BY minute, node`),
    store.rows<Record<string, unknown>>(
      `SELECT server_ms, stream_id, user_id, code, fatal, device, browser, protocol FROM events
       WHERE type = 'error' AND ts >= ${since}${byStream} ORDER BY server_ms DESC LIMIT 50`,
    ),
  ]);
  return { qoe, engagement, health, errors };
}

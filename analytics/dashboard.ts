/**
 * The queries behind the admin dashboard: one row per minute over the last `minutes`, for one
 * stream or all of them (states merged across streams, so percentiles and rates stay exact),
 * server health per node per minute, the most recent playback errors, and the streams seen.
 */
import type { AnalyticsStore } from "./store-contract.js";
import { isId } from "../protocol/ids.js";

export interface DashboardData {
  qoe: Record<string, unknown>[];
  engagement: Record<string, unknown>[];
  health: Record<string, unknown>[];
  errors: Record<string, unknown>[];
  streams: string[];
}

const idOk = isId;

export async function dashboard(store: AnalyticsStore, minutes: number, stream?: string): Promise<DashboardData> {
  const since = `toDateTime(${Math.floor(Date.now() / 1000) - minutes * 60})`;
  const only = stream && idOk(stream) ? ` AND stream_id = '${stream}'` : "";
  const [qoe, engagement, health, errors, streams] = await Promise.all([
    store.rows<Record<string, unknown>>(`SELECT minute,
        uniqExactMerge(views_state) AS views,
        quantilesExactMerge(0.5, 0.95)(startup_state) AS startup_ms,
        if(sumMerge(watched_ms_state) = 0, 0, 100 * sumMerge(rebuffer_ms_state) / sumMerge(watched_ms_state)) AS rebuffer_pct,
        if(uniqExactMerge(views_state) = 0, 0, 100 * uniqExactMerge(ebvs_views_state) / uniqExactMerge(views_state)) AS ebvs_pct,
        if(uniqExactMerge(views_state) = 0, 0, 100 * uniqExactMerge(failed_views_state) / uniqExactMerge(views_state)) AS failure_pct,
        if(sumMerge(watched_ms_state) = 0, 0, sumMerge(bitrate_ms_state) / sumMerge(watched_ms_state)) AS avg_bitrate_kbps,
        if(uniqExactMerge(views_state) = 0, 0, countMerge(switches_state) / uniqExactMerge(views_state)) AS switches_per_view,
        countMerge(errors_state) AS errors
      FROM qoe_minute WHERE minute >= ${since}${only} GROUP BY minute ORDER BY minute`),
    store.rows<Record<string, unknown>>(`SELECT minute,
        uniqExactMerge(viewers_state) AS viewers,
        countMerge(chats_state) AS chats,
        sumMerge(reactions_state) AS reactions,
        if(uniqExactMerge(viewers_state) = 0, 0, 100 * uniqExactMerge(voters_state) / uniqExactMerge(viewers_state)) AS poll_participation_pct
      FROM engagement_minute WHERE minute >= ${since}${only} GROUP BY minute ORDER BY minute`),
    store.rows<Record<string, unknown>>(`SELECT node, minute, cpu_pct, memory_bytes, connections FROM health_per_minute WHERE minute >= ${since} ORDER BY minute, node`),
    store.rows<Record<string, unknown>>(`SELECT server_ms, stream_id, user_id, code, fatal, device, browser, protocol FROM events
      WHERE type = 'error' AND ts >= ${since}${only} ORDER BY server_ms DESC LIMIT 50`),
    store.rows<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM qoe_minute WHERE minute >= ${since} ORDER BY stream_id LIMIT 200`),
  ]);
  return { qoe, engagement, health, errors, streams: streams.map((s) => s.stream_id) };
}

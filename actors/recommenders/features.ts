/**
 * Features for the recommender, read from the analytics store (the events table), the same SQL
 * on chdb and on a ClickHouse server (both dialects):
 *   per user x stream: watch time, completion (the furthest playhead over the video's length in
 *     the catalog), views, interactions (chat, reactions, votes),
 *     last activity, hidden;
 *   per user: average session duration (first to last event of a session);
 *   per stream: distinct viewers (popularity: users with a view of it, nothing else counts).
 * `confidence` folds a pair into the implicit-feedback weight the model trains on.
 */
import type { AnalyticsStore } from "../../analytics/store.js";

export interface Pair {
  user: string;
  stream: string;
  watchedMs: number;
  views: number;
  interactions: number;
  lastMs: number;
  /** Furthest playhead over the user's views, ms (as the player reported it). */
  furthestMs: number;
  /** The playhead at the user's latest report of it (heartbeat, pause, seek, end), ms: where they left off. */
  lastPositionMs: number;
  /** min(furthest playhead, watch time) / the video's length from the catalog (0..1; 0 for live
   *  and where the catalog has no length: a length a player reports is not trusted). */
  completion: number;
  /** The user said "not interested" (a `hide` event): never recommended to them. */
  hidden: boolean;
}

export interface Features {
  pairs: Pair[];
  /** Average session duration per user, ms. */
  sessionMs: Map<string, number>;
  /** Distinct viewers per stream in the window (users who watched it). */
  popularity: Map<string, number>;
}

const ID = /^[A-Za-z0-9_.:-]{1,64}$/;
/** The events that make a user a viewer of a stream (popularity counts these users only: a
 *  "not interested", a chat or a reaction without watching does not lift a stream). */
const VIEWING = "'view.start', 'heartbeat', 'view.end'";
/** The events that report where the playhead is. */
export const PLAYHEAD = "'heartbeat', 'view.end', 'pause', 'seek'";
/** 64-bit counts may arrive as numbers or (older servers) strings. */
type Num = number | string;

/** Videos' lengths in seconds, from the catalog (the encoder's probe). */
export type Durations = ReadonlyMap<string, number>;

export async function readFeatures(store: AnalyticsStore, nowMs: number, days: number, user?: string, durations: Durations = new Map()): Promise<Features> {
  if (user !== undefined && !ID.test(user)) throw new Error("bad user id");
  const from = nowMs - days * 86_400_000;
  const where = `ts >= toDateTime(${Math.floor(from / 1000)}) AND server_ms >= ${from} AND user_id != '' AND stream_id != ''${user ? ` AND user_id = '${user}'` : ""}`;
  const [pairs, sessions, popularity] = await Promise.all([
    store.rows<{ user_id: string; stream_id: string; watched: Num; views: Num; inter: Num; last: Num; hid: Num; furthest: Num; lastpos: Num }>(
      `SELECT user_id, stream_id, sumIf(watched_ms, type IN ('heartbeat', 'view.end')) AS watched, uniqExactIf(view_id, view_id != '') AS views,
         countIf(type IN ('chat', 'reaction', 'vote')) AS inter, max(server_ms) AS last, countIf(type = 'hide') AS hid,
         maxIf(position_ms, type IN ('heartbeat', 'view.end')) AS furthest, argMaxIf(position_ms, (server_ms, client_ms), type IN (${PLAYHEAD})) AS lastpos
       FROM events WHERE ${where} GROUP BY user_id, stream_id`,
    ),
    store.rows<{ user_id: string; avg_ms: Num }>(
      `SELECT user_id, avg(span) AS avg_ms FROM (SELECT user_id, session_id, max(server_ms) - min(server_ms) AS span FROM events WHERE ${where} GROUP BY user_id, session_id) GROUP BY user_id`,
    ),
    user ? Promise.resolve([]) : store.rows<{ stream_id: string; viewers: Num }>(`SELECT stream_id, uniqExactIf(user_id, type IN (${VIEWING})) AS viewers FROM events WHERE ${where} GROUP BY stream_id HAVING viewers > 0`),
  ]);
  return {
    pairs: pairs.map((p) => {
      const furthestMs = Number(p.furthest);
      const lengthSec = durations.get(p.stream_id);
      // The playhead counts only as far as the time actually watched: a player that reports a
      // position at the end (a seek, or a lie) has not watched the video to the end.
      const reached = Math.min(furthestMs, Number(p.watched));
      const completion = lengthSec === undefined || lengthSec <= 0 ? 0 : Math.min(1, reached / (lengthSec * 1000));
      return { user: p.user_id, stream: p.stream_id, watchedMs: Number(p.watched), views: Number(p.views), interactions: Number(p.inter), lastMs: Number(p.last), furthestMs, lastPositionMs: Number(p.lastpos), completion, hidden: Number(p.hid) > 0 };
    }),
    sessionMs: new Map(sessions.map((s) => [s.user_id, Number(s.avg_ms)])),
    popularity: new Map(popularity.map((p) => [p.stream_id, Number(p.viewers)])),
  };
}

/**
 * Implicit feedback for a pair: watch time (log minutes, relative to the user's usual session
 * so a heavy user's every click does not dominate), lifted by completion (a video watched to
 * the end counts double) and interaction level (chat, reactions, votes per minute watched,
 * capped), one point per view, halved every 14 days.
 */
export function confidence(p: Pair, sessionMs: number, nowMs: number): number {
  const minutes = p.watchedMs / 60_000;
  const share = Math.min(1, p.watchedMs / Math.max(60_000, sessionMs));
  const perMinute = p.interactions / Math.max(1, minutes);
  const recency = Math.pow(0.5, Math.max(0, nowMs - p.lastMs) / (14 * 86_400_000));
  return (Math.log1p(minutes) * (1 + share) * (1 + p.completion) * (1 + 0.5 * Math.min(perMinute, 4)) + p.views + 0.5 * Math.min(p.interactions, 10)) * recency;
}

/** Where a user left off in a video: the playhead of their latest report of it, ms (undefined: never). */
export async function readResume(store: AnalyticsStore, nowMs: number, days: number, user: string, stream: string): Promise<{ positionMs: number; at: number } | undefined> {
  if (!ID.test(user) || !ID.test(stream)) throw new Error("bad id");
  const from = nowMs - days * 86_400_000;
  const [r] = await store.rows<{ pos: Num; at: Num; n: Num }>(
    `SELECT argMax(position_ms, (server_ms, client_ms)) AS pos, max(server_ms) AS at, count() AS n FROM events
     WHERE ts >= toDateTime(${Math.floor(from / 1000)}) AND server_ms >= ${from} AND user_id = '${user}' AND stream_id = '${stream}' AND type IN (${PLAYHEAD})`,
  );
  return r === undefined || Number(r.n) === 0 ? undefined : { positionMs: Number(r.pos), at: Number(r.at) };
}

/**
 * Simulated viewers for the analytics tests: each one a real WebSocket (a guest session) that
 * sends the events a player and a room page would, and the QoE the test expects, computed by
 * hand from those events with the definitions of docs/events.md (not with SQL).
 */
import assert from "node:assert/strict";
import { api } from "./node.js";
import { WsClient } from "./ws-client.js";

export interface SimEvent {
  id: string;
  type: string;
  ts: number;
  view?: string;
  stream?: string;
  duration?: number;
  watched?: number;
  bitrate?: number;
  fatal?: boolean;
  started?: boolean;
  value?: number;
  code?: string;
  rendition?: string;
}

export interface ViewerPlan {
  events: SimEvent[];
}

export interface ExpectedQoe {
  views: number;
  startupP50: number;
  startupP95: number;
  rebufferPct: number;
  ebvsPct: number;
  failurePct: number;
  avgBitrate: number;
  switchesPerView: number;
  errors: number;
  chats: number;
  reactions: number;
  votes: number;
  viewers: number;
  participationPct: number;
}

/** A seeded PRNG (mulberry32): the same plans every run. */
export { rng } from "../../actors/recommenders/dataset.js";

/** One viewer's session on `stream`: views with startups, stalls, heartbeats, switches,
 *  errors, exits before start; chat, reactions and maybe a vote. */
export function planViewer(stream: string, n: number, rand: () => number): ViewerPlan {
  const events: SimEvent[] = [];
  const now = Date.now();
  let k = 0;
  const e = (type: string, extra: Partial<SimEvent> = {}) => events.push({ id: `${stream}-u${n}-${k++}`, type, ts: now + k, stream, ...extra });
  e("join");
  const views = 1 + Math.floor(rand() * 3);
  for (let v = 0; v < views; v++) {
    const view = `${stream}-u${n}-v${v}`;
    e("view.start", { view });
    if (rand() < 0.15) {
      e("view.end", { view, started: false, watched: 0 }); // exit before video start
      continue;
    }
    e("startup", { view, duration: 200 + Math.floor(rand() * 3000) });
    const beats = 1 + Math.floor(rand() * 4);
    for (let b = 0; b < beats; b++) {
      if (rand() < 0.4) e("buffer.end", { view, duration: 100 + Math.floor(rand() * 2000) });
      if (rand() < 0.3) e("quality", { view, rendition: "480p", bitrate: 1200 });
      e("heartbeat", { view, watched: 5000 + Math.floor(rand() * 5000), bitrate: [400, 1200, 2500][Math.floor(rand() * 3)] ?? 400 });
    }
    if (rand() < 0.2) e("error", { view, code: "NETWORK", fatal: rand() < 0.5 });
    e("view.end", { view, watched: Math.floor(rand() * 3000), bitrate: 1200 });
  }
  const chats = Math.floor(rand() * 4);
  for (let c = 0; c < chats; c++) e("chat");
  if (rand() < 0.7) e("reaction", { value: 1 + Math.floor(rand() * 5) });
  if (rand() < 0.5) e("vote");
  return { events };
}

/** The QoE of these events, by hand: Mux/CTA-2066 definitions as docs/events.md writes them. */
export function expectedQoe(plans: ViewerPlan[]): ExpectedQoe {
  const all = plans.flatMap((p) => p.events);
  const views = new Set(all.filter((e) => e.view).map((e) => e.view));
  const startups = all.filter((e) => e.type === "startup").map((e) => e.duration ?? 0).sort((a, b) => a - b);
  const q = (level: number) => startups[Math.floor(level * startups.length)] ?? 0; // quantileExact
  const played = all.filter((e) => e.type === "heartbeat" || e.type === "view.end");
  const watched = played.reduce((s, e) => s + (e.watched ?? 0), 0);
  const rebuffer = all.filter((e) => e.type === "buffer.end").reduce((s, e) => s + (e.duration ?? 0), 0);
  const bitrateMs = played.reduce((s, e) => s + (e.bitrate ?? 0) * (e.watched ?? 0), 0);
  const ebvs = new Set(all.filter((e) => e.type === "view.end" && e.started === false).map((e) => e.view)).size;
  const failed = new Set(all.filter((e) => e.type === "error" && e.fatal).map((e) => e.view)).size;
  const voters = plans.filter((p) => p.events.some((e) => e.type === "vote")).length;
  return {
    views: views.size,
    startupP50: q(0.5),
    startupP95: q(0.95),
    rebufferPct: (100 * rebuffer) / watched,
    ebvsPct: (100 * ebvs) / views.size,
    failurePct: (100 * failed) / views.size,
    avgBitrate: bitrateMs / watched,
    switchesPerView: all.filter((e) => e.type === "quality").length / views.size,
    errors: all.filter((e) => e.type === "error").length,
    chats: all.filter((e) => e.type === "chat").length,
    reactions: all.filter((e) => e.type === "reaction").reduce((s, e) => s + (e.value ?? 0), 0),
    votes: all.filter((e) => e.type === "vote").length,
    viewers: plans.length,
    participationPct: (100 * voters) / plans.length,
  };
}

/** Sends each plan from its own guest WebSocket, in batches of `batch`; every batch must be
 *  accepted whole. */
export async function sendPlans(base: string, wsUrl: string, plans: ViewerPlan[], batch = 7): Promise<void> {
  for (const plan of plans) {
    const guest = (await api(base, "POST", "/api/auth/guest")).body.accessToken as string;
    const ws = await WsClient.connect(wsUrl, { token: guest });
    for (let i = 0; i < plan.events.length; i += batch) {
      const r = await ws.request("events", { events: plan.events.slice(i, i + batch) });
      assert.equal(r.t, "ok", JSON.stringify(r.d));
      assert.deepEqual((r.d as { dropped: unknown[] }).dropped, []);
    }
    ws.close();
  }
}

/** The stream's QoE merged over all its minutes, from the materialized views' tables. */
export const QOE_SQL = (stream: string) => `SELECT
  uniqExactMerge(views_state) AS views,
  quantilesExactMerge(0.5, 0.95)(startup_state) AS startup,
  100 * sumMerge(rebuffer_ms_state) / sumMerge(watched_ms_state) AS rebuffer_pct,
  100 * uniqExactMerge(ebvs_views_state) / uniqExactMerge(views_state) AS ebvs_pct,
  100 * uniqExactMerge(failed_views_state) / uniqExactMerge(views_state) AS failure_pct,
  sumMerge(bitrate_ms_state) / sumMerge(watched_ms_state) AS avg_bitrate,
  countMerge(switches_state) / uniqExactMerge(views_state) AS switches_per_view,
  countMerge(errors_state) AS errors
FROM qoe_minute WHERE stream_id = '${stream}'`;

export const ENGAGEMENT_SQL = (stream: string) => `SELECT
  uniqExactMerge(viewers_state) AS viewers,
  countMerge(chats_state) AS chats,
  sumMerge(reactions_state) AS reactions,
  countMerge(votes_state) AS votes,
  100 * uniqExactMerge(voters_state) / uniqExactMerge(viewers_state) AS participation_pct
FROM engagement_minute WHERE stream_id = '${stream}'`;

/** Compares the store's row with the hand-computed figures (floats to 1e-6). */
export function assertQoe(qoe: unknown[], engagement: unknown[], want: ExpectedQoe): void {
  const [views, startup, rebuffer, ebvs, failure, bitrate, switches, errors] = qoe as [unknown, unknown[], unknown, unknown, unknown, unknown, unknown, unknown];
  const close = (got: unknown, exp: number, what: string) => assert.ok(Math.abs(Number(got) - exp) < 1e-6, `${what}: store ${String(got)}, by hand ${exp}`);
  assert.equal(Number(views), want.views, "views");
  assert.deepEqual(startup.map(Number), [want.startupP50, want.startupP95], "startup p50/p95");
  close(rebuffer, want.rebufferPct, "rebuffer %");
  close(ebvs, want.ebvsPct, "exits before video start %");
  close(failure, want.failurePct, "playback failure %");
  close(bitrate, want.avgBitrate, "average bitrate");
  close(switches, want.switchesPerView, "switches per view");
  assert.equal(Number(errors), want.errors, "errors");
  const [viewers, chats, reactions, votes, participation] = engagement;
  assert.equal(Number(viewers), want.viewers, "viewers");
  assert.equal(Number(chats), want.chats, "chats");
  close(reactions, want.reactions, "reactions");
  assert.equal(Number(votes), want.votes, "votes");
  close(participation, want.participationPct, "poll participation %");
}

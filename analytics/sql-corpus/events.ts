/** The oldest event's age before scaling (the first view's start, 50 min ago, and a little). */
const SPAN_MS = 51 * 60_000;

/**
 * How much of its usual hour the set may spread over at `now`: the corpus asks about "the last
 * hour" and about "today", so just after midnight (local, as ClickHouse's toStartOfDay reads it
 * here, or UTC) the events are squeezed in after midnight, keeping their order.
 */
export function corpusScale(now: number): number {
  const local = new Date(now);
  local.setHours(0, 0, 0, 0);
  const utc = new Date(now);
  utc.setUTCHours(0, 0, 0, 0);
  const sinceMidnight = Math.min(now - local.getTime(), now - utc.getTime());
  return Math.max(0, Math.min(1, (sinceMidnight - 1000) / SPAN_MS));
}

/**
 * A small, plausible event set for the analyst-query corpus (analyst.json): 3 streams, 2 views
 * each, every event type a player and a room send, within the last hour and today; JSONEachRow lines.
 */
export function corpusEvents(now = Date.now()): Buffer {
  const out: Record<string, unknown>[] = [];
  const scale = corpusScale(now);
  const add = (type: string, stream: string, view: string, extra: Record<string, unknown>, ago: number) => {
    const ms = now - Math.round(ago * scale);
    const n = out.length;
    out.push({
      event_id: `ev-${n}`, type, client_ms: ms - 40, server_ms: ms, user_id: `u-${view.slice(-1)}`, session_id: `s-${view}`, view_id: view, stream_id: stream,
      node: "node-1", device: ["desktop", "phone", "tv"][n % 3], os: ["Linux", "iOS", "Android"][n % 3], browser: ["Chrome", "Safari", "Firefox"][n % 3], app: "web",
      protocol: stream === "s2" ? "webrtc" : "hls", rendition: "720p", bitrate_kbps: 0, duration_ms: 0, watched_ms: 0, position_ms: 0, value: 0, fatal: 0, started: 1, code: "",
      memory_bytes: 0, connections: 0, data: "", ...extra,
    });
  };
  for (const s of ["s1", "s2", "s3"]) {
    for (let v = 0; v < 2; v++) {
      const view = `${s}-v${v}`;
      const t0 = 50 * 60_000 - v * 7 * 60_000;
      add("view.start", s, view, { data: JSON.stringify({ referrer: "home", autoplay: v === 0 }) }, t0);
      add("startup", s, view, { duration_ms: 800 + v * 900 + s.charCodeAt(1) * 3, data: JSON.stringify({ cdn: "edge-a" }) }, t0 - 1000);
      add("heartbeat", s, view, { watched_ms: 10000, bitrate_kbps: 2500, position_ms: 10000, duration_ms: 600000, rendition: "720p" }, t0 - 11000);
      add("buffer.start", s, view, { position_ms: 12000 }, t0 - 13000);
      add("buffer.end", s, view, { duration_ms: 1500 + v * 500, position_ms: 12000 }, t0 - 14500);
      add("quality", s, view, { rendition: "480p", bitrate_kbps: 1200, data: JSON.stringify({ reason: "bandwidth", from: "720p" }) }, t0 - 15000);
      add("heartbeat", s, view, { watched_ms: 10000, bitrate_kbps: 1200, position_ms: 20000, duration_ms: 600000, rendition: "480p" }, t0 - 75000);
      add("error", s, view, { code: v === 0 ? "MEDIA_ERR_NETWORK" : "MEDIA_ERR_DECODE", fatal: v === 1 ? 1 : 0, data: JSON.stringify({ detail: "segment 404", retry: 2 }) }, t0 - 22000);
      add("chat", s, view, { data: JSON.stringify({ len: 12, lang: "en" }) }, t0 - 23000);
      add("reaction", s, view, { value: 3, data: JSON.stringify({ emoji: "heart" }) }, t0 - 24000);
      add("view.end", s, view, { watched_ms: 4000, bitrate_kbps: 1200, position_ms: 24000, duration_ms: 600000, started: 1 }, t0 - 130000);
    }
  }
  return Buffer.from(out.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

export interface HostileQuery {
  sql: string;
  class: string;
}

export interface AnalystQuery {
  sql: string;
  what: string;
  /** Also runs on ClickHouse 18.16 (Debian's server). */
  legacy: boolean;
}

/**
 * The event model (docs/events.md): one flat row per event, the same for client and server
 * events, so one table holds them all and the QoE views read typed columns, not JSON.
 *
 * Clients send `{id, type, ts, view?, stream?, ...}`; the gateway stamps what it knows and the
 * client must not choose (user, session, node, server time) and drops what it cannot accept,
 * one reason per dropped event (never the whole batch).
 */

export const CLIENT_EVENT_TYPES = [
  "view.start", // a player was opened for a stream: the view begins (Mux: view start)
  "startup", // first frame shown; duration_ms = time since view.start (video startup time)
  "play",
  "pause",
  "seek", // position_ms = target
  "buffer.start",
  "buffer.end", // duration_ms = the stall
  "quality", // rendition / bitrate_kbps = the new level (a bitrate switch)
  "error", // code, fatal = 1 when playback stopped for good
  "heartbeat", // every 10 s while the view lasts: watched_ms since the last one, bitrate_kbps
  "view.end", // watched_ms since the last heartbeat; started = 0 means exit before video start
  "join", // stream (room) joined / left
  "exit",
  "chat",
  "reaction", // value = how many
  "vote",
  "presence",
] as const;

export const SERVER_EVENT_TYPES = ["stream.status", "encoder.job", "node.load"] as const;

export type EventType = (typeof CLIENT_EVENT_TYPES)[number] | (typeof SERVER_EVENT_TYPES)[number];

/** A row of `events`, as inserted (JSONEachRow). Times are epoch milliseconds. */
export interface EventRow {
  event_id: string;
  type: EventType;
  client_ms: number;
  server_ms: number;
  user_id: string;
  session_id: string;
  view_id: string;
  stream_id: string;
  node: string;
  device: string;
  os: string;
  browser: string;
  app: string;
  protocol: string;
  rendition: string;
  bitrate_kbps: number;
  duration_ms: number;
  watched_ms: number;
  position_ms: number;
  value: number;
  fatal: number;
  started: number;
  code: string;
  /** node.load only: resident memory and open connections of the node. */
  memory_bytes: number;
  connections: number;
  data: string;
  /** Set (to 1) on events a client re-sends because it lost the answer: the ingester checks
   *  the store for them. Not a column (inserts skip unknown fields); always the last key. */
  r?: 1;
}

/** What the gateway knows about the sender of a batch. */
export interface Stamp {
  userId: string;
  sessionId: string;
  node: string;
  serverMs: number;
  device: Device;
}

export interface Device {
  device: string;
  os: string;
  browser: string;
  app: string;
}

export const MAX_EVENTS_PER_BATCH = 500;
const CLIENT_TYPES = new Set<string>(CLIENT_EVENT_TYPES);
const ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const SHORT = /^[\w .:/+()-]{0,64}$/;
const DEVICES = new Set(["phone", "tablet", "desktop", "tv", "bot", "other"]);
/** A client clock this far from ours is not believed: client_ms is then our time. */
const MAX_SKEW_MS = 24 * 3600_000;

const str = (v: unknown, re: RegExp): string | undefined => (v === undefined || v === null ? "" : typeof v === "string" && re.test(v) ? v : undefined);
const num = (v: unknown, max: number): number | undefined => (v === undefined || v === null ? 0 : typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= max ? v : undefined);

/** Checks one client event and returns its row, or why it was dropped. Hand-written (not a
 *  schema library): it runs once per event at 100k+ events/s. */
export function clientEventRow(raw: unknown, stamp: Stamp, retry = false): EventRow | string {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return "not an object";
  const e = raw as Record<string, unknown>;
  if (typeof e.id !== "string" || !ID.test(e.id)) return "id: 1-64 of [A-Za-z0-9_.:-]";
  if (typeof e.type !== "string" || !CLIENT_TYPES.has(e.type)) return `type: unknown "${String(e.type).slice(0, 32)}"`;
  const ts = num(e.ts, 1e14);
  if (ts === undefined) return "ts: epoch milliseconds";
  const fields = {
    view_id: str(e.view, ID),
    stream_id: str(e.stream, ID),
    protocol: str(e.protocol, SHORT),
    rendition: str(e.rendition, SHORT),
    code: str(e.code, SHORT),
    bitrate_kbps: num(e.bitrate, 1e7),
    duration_ms: num(e.duration, 1e9),
    watched_ms: num(e.watched, 1e9),
    position_ms: num(e.position, 1e11),
    value: num(e.value, 1e9),
  };
  for (const [k, v] of Object.entries(fields)) if (v === undefined) return `${k}: bad value`;
  let data = "";
  if (e.data !== undefined) {
    data = JSON.stringify(e.data);
    if (data.length > 2048) return "data: over 2 KB";
  }
  const skewed = Math.abs((ts || stamp.serverMs) - stamp.serverMs) > MAX_SKEW_MS;
  return {
    event_id: e.id,
    type: e.type as EventType,
    client_ms: skewed || ts === 0 ? stamp.serverMs : Math.round(ts),
    server_ms: stamp.serverMs,
    user_id: stamp.userId,
    session_id: stamp.sessionId,
    node: stamp.node,
    ...stamp.device,
    ...(fields as Record<keyof typeof fields, never>),
    fatal: e.fatal === true ? 1 : 0,
    started: e.started === false ? 0 : 1,
    memory_bytes: 0,
    connections: 0,
    data,
    ...(retry ? { r: 1 as const } : {}),
  };
}

/** A server-side event (stream lifecycle, encoder job, node load). */
export function serverEventRow(id: string, type: (typeof SERVER_EVENT_TYPES)[number], node: string, fields: Partial<EventRow>): EventRow {
  const now = Date.now();
  // event_id first: the ingester reads it off the start of each JSON line without parsing.
  return { event_id: id, ...EMPTY, device: "server", ...fields, type, client_ms: now, server_ms: now, node };
}

const EMPTY: Omit<EventRow, "event_id" | "type" | "client_ms" | "server_ms" | "node"> = {
  user_id: "",
  session_id: "",
  view_id: "",
  stream_id: "",
  device: "",
  os: "",
  browser: "",
  app: "",
  protocol: "",
  rendition: "",
  bitrate_kbps: 0,
  duration_ms: 0,
  watched_ms: 0,
  position_ms: 0,
  value: 0,
  fatal: 0,
  started: 1,
  code: "",
  memory_bytes: 0,
  connections: 0,
  data: "",
};

/** Device info from the User-Agent, coarse on purpose (no fingerprinting). */
export function deviceFrom(userAgent: string, hint?: unknown): Device {
  const ua = userAgent.slice(0, 512);
  const device =
    typeof hint === "string" && DEVICES.has(hint)
      ? hint
      : /SMART-TV|SmartTV|Tizen|Web0S|HbbTV|AFT|CrKey|TV\b/i.test(ua)
        ? "tv"
        : /iPad|Tablet/i.test(ua)
          ? "tablet"
          : /Mobi|Android|iPhone/i.test(ua)
            ? "phone"
            : /bot|crawl|spider|curl|node/i.test(ua)
              ? "bot"
              : ua
                ? "desktop"
                : "other";
  const os = /Windows/.test(ua) ? "windows" : /Android/.test(ua) ? "android" : /iPhone|iPad|iOS/.test(ua) ? "ios" : /Mac OS X/.test(ua) ? "macos" : /Linux|X11/.test(ua) ? "linux" : "other";
  const browser = /Edg\//.test(ua) ? "edge" : /Firefox\//.test(ua) ? "firefox" : /Chrom(e|ium)\//.test(ua) ? "chrome" : /Safari\//.test(ua) ? "safari" : "other";
  return { device, os, browser, app: "web" };
}

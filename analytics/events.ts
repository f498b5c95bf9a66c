/**
 * The event model (docs/events.md): one flat row per event, the same for client and server
 * events, so one table holds them all and the QoE views read typed columns, not JSON.
 *
 * Clients send `{id, type, ts, view?, stream?, ...}`; the gateway stamps what it knows and the
 * client must not choose (user, session, node, server time) and drops what it cannot accept,
 * one reason per dropped event (never the whole batch). Events a client re-sends because it
 * lost the answer carry `"r":1` as the last key of their line (not a column: inserts skip
 * unknown fields): the ingester looks them up in the store before inserting.
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
  "hide", // "not interested": the recommenders never show this stream to this user again
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

/** A batch of events as the bus carries it: JSONEachRow lines, event_id first in each. */
export interface EncodedBatch {
  lines: Buffer;
  events: number;
  /** Re-sent by a client that lost the answer: the ingester looks these ids up first. */
  retry?: boolean;
  /** Server time of the oldest event (ingest lag). */
  oldestMs: number;
}

const int = (v: number) => Math.round(v);

/**
 * Checks a client's events and writes the accepted ones straight as JSONEachRow lines (no row
 * objects, no JSON.stringify per row: this runs for every event, at 100k+ events/s). The
 * fields a client sets were checked against ID/SHORT (no quote, no backslash) or are numbers,
 * so they are written as they are; what the gateway stamps is encoded once per batch.
 */
export function clientBatch(events: readonly unknown[], stamp: Stamp, retry = false): { batch: EncodedBatch; dropped: { i: number; reason: string }[] } {
  const j = JSON.stringify;
  const d = stamp.device;
  const shared = `"server_ms":${stamp.serverMs},"user_id":${j(stamp.userId)},"session_id":${j(stamp.sessionId)},"node":${j(stamp.node)},"device":${j(d.device)},"os":${j(d.os)},"browser":${j(d.browser)},"app":${j(d.app)}`;
  const tail = retry ? ',"r":1}\n' : "}\n";
  let out = "";
  let n = 0;
  const dropped: { i: number; reason: string }[] = [];
  for (let i = 0; i < events.length; i++) {
    const line = clientLine(events[i], stamp.serverMs, shared);
    if (line.startsWith("{")) {
      out += line + tail;
      n++;
    } else dropped.push({ i, reason: line });
  }
  return { batch: { lines: Buffer.from(out), events: n, oldestMs: stamp.serverMs, ...(retry ? { retry } : {}) }, dropped };
}

/** One event as a line without its closing brace, or the reason it was dropped. */
function clientLine(raw: unknown, serverMs: number, shared: string): string {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return "not an object";
  const e = raw as Record<string, unknown>;
  if (typeof e.id !== "string" || !ID.test(e.id)) return "id: 1-64 of [A-Za-z0-9_.:-]";
  if (typeof e.type !== "string" || !CLIENT_TYPES.has(e.type)) return `type: unknown "${String(e.type).slice(0, 32)}"`;
  const ts = num(e.ts, 1e14);
  if (ts === undefined) return "ts: epoch milliseconds";
  const view = str(e.view, ID);
  if (view === undefined) return "view: bad value";
  const stream = str(e.stream, ID);
  if (stream === undefined) return "stream: bad value";
  const protocol = str(e.protocol, SHORT);
  const rendition = str(e.rendition, SHORT);
  const code = str(e.code, SHORT);
  if (protocol === undefined || rendition === undefined || code === undefined) return "protocol/rendition/code: up to 64 of [A-Za-z0-9_ .:/+()-]";
  const bitrate = num(e.bitrate, 1e7);
  const duration = num(e.duration, 1e9);
  const watched = num(e.watched, 1e9);
  const position = num(e.position, 1e11);
  const value = num(e.value, 1e9);
  if (bitrate === undefined || duration === undefined || watched === undefined || position === undefined || value === undefined) return "bitrate/duration/watched/position/value: a number >= 0";
  let data = '""';
  if (e.data !== undefined) {
    const text = JSON.stringify(e.data);
    if (text.length > 2048) return "data: over 2 KB";
    data = JSON.stringify(text);
  }
  const clientMs = ts === 0 || Math.abs(ts - serverMs) > MAX_SKEW_MS ? serverMs : int(ts);
  return `{"event_id":"${e.id}","type":"${e.type}","client_ms":${clientMs},${shared},"view_id":"${view}","stream_id":"${stream}","protocol":"${protocol}","rendition":"${rendition}","bitrate_kbps":${int(bitrate)},"duration_ms":${int(duration)},"watched_ms":${int(watched)},"position_ms":${int(position)},"value":${value},"fatal":${e.fatal === true ? 1 : 0},"started":${e.started === false ? 0 : 1},"code":"${code}","memory_bytes":0,"connections":0,"data":${data}`;
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

/**
 * The app's one WebSocket to the gateway (JSON frames, docs/protocol.md): request/answer by id,
 * pushes to listeners, reconnect by the protocol's close-code rules (protocol/close-codes.ts:
 * 1001/1006/40xx with a full-jitter backoff below 0.5 s doubling to 30 s, 4000 at once, 45xx stop), and
 * token renewal on the open socket (`auth`) ahead of expiry, so an expiring session never closes
 * it. Errors are data: a refused request rejects with a SocketError carrying the server's code.
 */
import { CLOSE, reconnectAfter } from "../../../protocol/close-codes";
import { session } from "./session";

export class SocketError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The error's data, when the server gave some (`retryAfterMs`/`retryAfterSec` of a refusal, say). */
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "SocketError";
  }
}

export interface Push {
  t: string;
  d: unknown;
}

type PushListener = (f: Push) => void;
type StateListener = (online: boolean) => void;
interface Pending {
  resolve: (d: unknown) => void;
  reject: (e: SocketError) => void;
}

const RENEW_EARLY_SEC = 30;
/** A gateway whose machine vanished (power, a network cut) sends no close: the socket would
 *  wait minutes for TCP to give up while the show goes on elsewhere. Quiet for HEARTBEAT_MS,
 *  the app pings; nothing heard PING_WAIT_MS after the ping, it drops the socket and
 *  reconnects (through the load balancer: to a gateway that is up) with the lost-connection
 *  rule: about 8 s in all in a visible tab. */
const HEARTBEAT_MS = 4000;
const PING_WAIT_MS = 4000;
const BEAT_CHECK_MS = 1000;
const REQUEST_TIMEOUT_MS = 15_000;

export class AppSocket {
  #ws: WebSocket | undefined;
  #next = 1;
  /** Reconnect attempts since the socket was last open. */
  #attempt = 0;
  #stopped = false;
  /** A connection is being made (token fetch, or a reconnect waiting its turn). */
  #connecting = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  #beatTimer: ReturnType<typeof setInterval> | undefined;
  /** When the open socket last heard anything (a frame of any kind). */
  #heard = 0;
  /** When the last heartbeat ping went out (0: none on this socket). */
  #pingAt = 0;
  readonly #pending = new Map<string, Pending>();
  readonly #push = new Set<PushListener>();
  readonly #state = new Set<StateListener>();
  /** Why the socket stopped for good (a 45xx close), shown to the user; it stays stopped until
   *  the user acts (logs in again, reloads). */
  stoppedReason = "";

  get online(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  onPush(l: PushListener): () => void {
    this.#push.add(l);
    return () => this.#push.delete(l);
  }

  onState(l: StateListener): () => void {
    this.#state.add(l);
    return () => this.#state.delete(l);
  }

  constructor() {
    // A login or logout changes who this socket speaks for: reconnect as the new user.
    let user = session.user?.id;
    session.on((s) => {
      if (s.user?.id === user) return;
      user = s.user?.id;
      if (this.stoppedReason) {
        // The user acted (logged in again): the stop is over.
        this.stoppedReason = "";
        this.#emitState(false);
        if (!this.#stopped) this.#open();
        return;
      }
      this.#ws?.close(CLOSE.RECONNECT_ELSEWHERE, "identity changed");
    });
  }

  /** Connects unless connected, connecting, or stopped for good by the server. */
  start(): void {
    this.#stopped = false;
    if (!this.stoppedReason) this.#open();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#connecting = false;
    clearTimeout(this.#renewTimer);
    clearInterval(this.#beatTimer);
    this.#ws?.close(1000);
    this.#ws = undefined;
  }

  /** Sends a request; resolves with the `ok` payload, rejects with the server's error code. */
  request<T>(t: string, d?: unknown): Promise<T> {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new SocketError("OFFLINE", "Not connected: retrying"));
    const id = `a${this.#next++}`;
    ws.send(JSON.stringify({ t, id, d }));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id, undefined, new SocketError("TIMEOUT", "No answer from the server")), REQUEST_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  /** Fire and forget (reactions): dropped when offline. */
  send(t: string, d: unknown): boolean {
    if (this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify({ t, d }));
    return true;
  }

  #open(): void {
    if (this.#ws || this.#connecting) return;
    this.#connecting = true;
    void this.#connect();
  }

  async #connect(): Promise<void> {
    this.#retryTimer = undefined;
    let token: string;
    try {
      token = await session.token();
    } catch {
      this.#connecting = false;
      this.#retry(1006); // no token (the network is down): like a lost connection
      return;
    }
    this.#connecting = false;
    if (this.#stopped || this.#ws) return;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/ws?format=json&token=${encodeURIComponent(token)}`);
    this.#ws = ws;
    ws.onopen = () => {
      this.#attempt = 0;
      this.#heard = Date.now();
      this.#pingAt = 0;
      clearInterval(this.#beatTimer);
      this.#beatTimer = setInterval(() => this.#beat(ws), BEAT_CHECK_MS);
      this.#emitState(true);
    };
    ws.onmessage = (m) => this.#onFrame(m.data as string);
    ws.onclose = (ev) => this.#onClose(ws, ev.code, ev.reason);
  }

  /** Pings a quiet socket; drops one that stayed silent PING_WAIT_MS after a ping. Judged on a
   *  ping's answer, never on quiet alone: a background tab's timers run once a minute, and a
   *  healthy but quiet socket must not be dropped for that. */
  #beat(ws: WebSocket): void {
    if (this.#ws !== ws) return;
    const now = Date.now();
    if (this.#pingAt > 0 && this.#heard < this.#pingAt && now - this.#pingAt >= PING_WAIT_MS) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.close();
      this.#onClose(ws, 1006, "the gateway went silent");
    } else if (now - this.#heard >= HEARTBEAT_MS && (this.#pingAt === 0 || this.#heard >= this.#pingAt)) {
      this.#pingAt = now;
      this.request("ping", {}).catch(() => undefined);
    }
  }

  #onFrame(raw: string): void {
    this.#heard = Date.now();
    let f: { t: string; id?: string; d?: unknown };
    try {
      f = JSON.parse(raw) as typeof f;
    } catch {
      return;
    }
    if (f.t === "hello") return this.#scheduleRenew((f.d as { exp: number }).exp);
    if (f.id !== undefined && this.#pending.has(f.id)) {
      const err = f.t === "error" ? (f.d as { code: string; message: string; data?: Record<string, unknown> }) : undefined;
      return this.#settle(f.id, f.d, err ? new SocketError(err.code, err.message, err.data) : undefined);
    }
    for (const l of this.#push) l({ t: f.t, d: f.d });
  }

  #settle(id: string, d: unknown, err: SocketError | undefined): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    if (err) p.reject(err);
    else p.resolve(d);
  }

  /** Renews the connection's token before it expires (the server closes with 4003 otherwise). */
  #scheduleRenew(exp: number): void {
    clearTimeout(this.#renewTimer);
    const left = exp * 1000 - Date.now();
    const inMs = Math.max(1000, left - RENEW_EARLY_SEC * 1000, left / 2); // short-lived tokens: at half-life
    this.#renewTimer = setTimeout(() => {
      void session
        .token()
        .then((token) => this.request<{ exp: number }>("auth", { token }))
        .then((a) => this.#scheduleRenew(a.exp))
        .catch(() => undefined); // the 4003 close then reconnects with a fresh token
    }, inMs);
  }

  #onClose(ws: WebSocket, code: number, reason: string): void {
    if (this.#ws !== ws) return;
    this.#ws = undefined;
    clearInterval(this.#beatTimer);
    clearTimeout(this.#renewTimer);
    for (const id of [...this.#pending.keys()]) this.#settle(id, undefined, new SocketError("OFFLINE", "Connection lost: retrying"));
    this.#emitState(false);
    if (this.#stopped) return;
    if (code === CLOSE.TOKEN_EXPIRED) session.expire();
    if (!this.#retry(code)) {
      this.stoppedReason = reason || `closed (${String(code)})`;
      this.#emitState(false); // listeners show the reason
    }
  }

  /** Schedules the next connection by the protocol's rules; false when the code says stop. */
  #retry(code: number): boolean {
    if (this.#stopped) return true;
    const wait = reconnectAfter(code, this.#attempt++, Math.random());
    if (wait === undefined) return false;
    this.#connecting = true;
    this.#retryTimer = setTimeout(() => void this.#connect(), wait);
    return true;
  }

  #emitState(online: boolean): void {
    for (const l of this.#state) l(online);
  }
}

/** The app's socket, opened by the screens that need it (watch, studio, admin). */
export const socket = new AppSocket();

/**
 * Load shedding at a gateway: what it refuses when overrun, and how long it asks to wait.
 *   joins     one address (an IPv6 one by its /64) may have `joinsPerIp` joins on their way
 *             (RATE_LIMITED past it), and
 *             a join that would wait more than `joinQueueMs` behind the joins already pending
 *             (at the measured join rate, never assumed below NOMINAL_JOINS_PER_SEC) is refused
 *             with UNAVAILABLE and `retryAfterMs` (+ `retryAfterSec`): the time until the queue
 *             falls under the limit, plus a draw within the limit's window, so the refused come
 *             back as room frees up and not together;
 *   upgrades  while the event loop lags more than `shedLagMs`, a WebSocket upgrade answers 503
 *             with Retry-After (the node cannot even read its sockets in time).
 * A refused client keeps its place nowhere: it is simply asked to come back, which it does (the
 * app and the bench honour retryAfterMs), and the gateway never queues more than it can clear.
 */
import { AppError } from "../lib/errors.js";

export interface AdmissionDeps {
  joinQueueMs: number;
  /** Joins one client address may have waiting or on their way at once. */
  joinsPerIp: number;
  shedLagMs: number;
  /** Joins waiting or on their way, and joins answered per second (join-batcher.ts). */
  joins: { readonly pending: number; readonly rate: number };
  random?: () => number;
}

/** The join rate a gateway is assumed to manage before it has measured one (a cold gateway
 *  taking a reconnect storm must not shed what it can clear). */
export const NOMINAL_JOINS_PER_SEC = 2000;
const LAG_SAMPLE_MS = 50;
const LAG_WINDOW = 5;
const MIN_RETRY_MS = 200;
const MAX_RETRY_MS = 30_000;

export class Admission {
  readonly #deps: AdmissionDeps;
  readonly #random: () => number;
  #lagMs = 0;
  readonly #perIp = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  /** Refusals so far (metrics, bench). */
  refusedJoins = 0;
  refusedUpgrades = 0;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
  }

  /** Samples the event loop's lag (how late a timer fires); `lagMs` is the worst of the last
   *  LAG_WINDOW samples (a quarter of a second). */
  start(): void {
    let expected = performance.now() + LAG_SAMPLE_MS;
    const recent: number[] = [];
    this.#timer = setInterval(() => {
      const now = performance.now();
      recent.push(Math.max(0, now - expected));
      if (recent.length > LAG_WINDOW) recent.shift();
      this.#lagMs = Math.max(...recent);
      expected = now + LAG_SAMPLE_MS;
    }, LAG_SAMPLE_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  get lagMs(): number {
    return this.#lagMs;
  }

  /** How long the joins already pending take to clear, in ms. */
  queueMs(): number {
    const { pending, rate } = this.#deps.joins;
    return (1000 * pending) / Math.max(rate, NOMINAL_JOINS_PER_SEC);
  }

  /** Lets a join of this address in, or throws: RATE_LIMITED when the address has joinsPerIp
   *  on their way already (one client cannot fill the queue everyone else is shed on),
   *  UNAVAILABLE when the queue would take too long. Call the answer when the join is done. */
  admitJoin(address: string): () => void {
    const ip = addressKey(address);
    const mine = this.#perIp.get(ip) ?? 0;
    if (mine >= this.#deps.joinsPerIp) {
      this.refusedJoins++;
      throw refusal("RATE_LIMITED", `${String(mine)} joins from this address are on their way`, MIN_RETRY_MS * 2 * (0.75 + 0.5 * this.#random()));
    }
    const queue = this.queueMs();
    if (queue > this.#deps.joinQueueMs) {
      this.refusedJoins++;
      // Back once the queue has fallen under the limit, spread over the limit's window: the
      // refused arrive as room frees up, not together when the queue runs dry.
      throw refusal("UNAVAILABLE", `This gateway has ${String(this.#deps.joins.pending)} joins ahead of yours`, clamp(queue - this.#deps.joinQueueMs + this.#random() * this.#deps.joinQueueMs));
    }
    this.#perIp.set(ip, mine + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.#perIp.get(ip) ?? 1) - 1;
      if (n > 0) this.#perIp.set(ip, n);
      else this.#perIp.delete(ip);
    };
  }

  /** Throws UNAVAILABLE when the event loop is too far behind to take a new socket. */
  admitUpgrade(): void {
    if (this.#lagMs <= this.#deps.shedLagMs) return;
    this.refusedUpgrades++;
    throw refusal("UNAVAILABLE", `This gateway is overloaded (event loop ${String(Math.round(this.#lagMs))} ms late)`, clamp(this.#lagMs * 2) * (0.75 + 0.5 * this.#random()));
  }
}

const clamp = (ms: number): number => Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, ms));

/** A refusal that says how long to wait: in the message, and as data for programs. */
function refusal(code: "RATE_LIMITED" | "UNAVAILABLE", why: string, waitMs: number): AppError {
  const ms = Math.round(waitMs);
  return new AppError(code, `${why}: retry in ${String(ms)} ms`, { retryAfterMs: ms, retryAfterSec: Math.ceil(ms / 1000) });
}

/** The key an address's joins are counted under: an IPv4 address as it is, an IPv6 one by its
 *  /64 (one host or home network is handed a whole /64: its addresses are one client). */
export function addressKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const bare = ip.replace(/%.*$/, "").toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped?.[1]) return mapped[1];
  const [head = "", tail] = bare.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(Math.max(0, 8 - h.length - t.length)).fill("0"), ...t];
  return `${groups.slice(0, 4).map((g) => (parseInt(g, 16) || 0).toString(16)).join(":")}::/64`;
}

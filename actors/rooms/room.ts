/**
 * One room as its owner holds it: the sequence, the recent history, polls, reaction and
 * presence aggregates, moderation state. Sequenced events are written to the log before they
 * are acknowledged or broadcast, one at a time in seq order (a per-room chain), so every
 * gateway receives them in the same order.
 */
import { AppError } from "../../lib/errors.js";
import { RateLimiter } from "../../lib/rate-limit.js";
import { mustGet, type Store } from "../../store/index.js";
import { Polls } from "./polls.js";
import type { RoomLog } from "./room-log.js";
import { REACTIONS, type Ephemeral, type JoinBatchAnswer, type JoinSlot, type NewRoomEvent, type PollPublic, type Reaction, type RoomEvent, type RoomItem, type UserRef } from "../../protocol/rooms.js";
import type { RoomMeta } from "./room-meta.js";

export interface RoomSettings {
  historySize: number;
  chatMaxLength: number;
  chatRatePerSec: number;
  chatBurst: number;
  reactionWindowMs: number;
  presenceDebounceMs: number;
}

export interface RoomDeps {
  store: Store;
  log: RoomLog;
  settings: RoomSettings;
  publish(room: string, items: RoomItem[]): void;
}

const PRESENCE_STALE_MS = 10_000;
const PRESENCE_BIG_MAX_MS = 10_000;

export class Room {
  readonly id: string;
  #meta: RoomMeta;
  #seq: number;
  readonly #history: RoomEvent[];
  readonly #polls: Polls;
  readonly #deps: RoomDeps;
  readonly #chatLimiter: RateLimiter;
  readonly #lastChat = new Map<string, number>();
  readonly #reactions = new Map<Reaction, number>();
  readonly #dirtyPolls = new Set<string>();
  readonly #presence = new Map<string, { count: number; sample: UserRef[]; at: number }>();
  #presenceSent = "";
  #presenceSentAt = 0;
  #lastActivity = Date.now();
  #chain: Promise<unknown> = Promise.resolve();
  readonly #timers: NodeJS.Timeout[] = [];

  private constructor(id: string, meta: RoomMeta, history: RoomEvent[], polls: Polls, deps: RoomDeps) {
    this.id = id;
    this.#meta = meta;
    this.#history = history;
    this.#seq = history.at(-1)?.seq ?? 0;
    this.#polls = polls;
    this.#deps = deps;
    const s = deps.settings;
    this.#chatLimiter = new RateLimiter(s.chatRatePerSec, s.chatBurst);
    this.#timers.push(setInterval(() => this.#flushAggregates(), s.reactionWindowMs), setInterval(() => this.#flushPresence(), s.presenceDebounceMs));
    for (const t of this.#timers) t.unref();
  }

  /** Loads the room from the store and the tail of its log (a new owner taking over). */
  static async load(id: string, deps: RoomDeps): Promise<Room> {
    const meta = (await mustGet<RoomMeta>(deps.store, "rooms", id, "room")).value;
    const history = await deps.log.tail(id, deps.settings.historySize);
    return new Room(id, meta, history, await Polls.load(id, deps.store), deps);
  }

  get seq(): number {
    return this.#seq;
  }

  get ownerId(): string {
    return this.#meta.ownerId;
  }

  close(): void {
    for (const t of this.#timers) clearInterval(t);
  }

  /** How long the room has been empty and quiet (0 while anyone is here). */
  idleMs(now = Date.now()): number {
    return this.#presenceTotal().count > 0 ? 0 : now - this.#lastActivity;
  }

  /** Anything a member does keeps the room loaded. */
  touch(): void {
    this.#lastActivity = Date.now();
  }

  /** Joins, one slot per member (`since`: the last seq it saw; none = a fresh join): where its
   *  events start in `history`, or why it may not join. The room's state is given once. */
  join(members: readonly { userId: string; since?: number | undefined }[]): JoinBatchAnswer {
    const base = { seq: this.#seq, polls: this.#polls.all(), presence: this.#presenceTotal(), slowModeSec: this.#meta.slowModeSec, chatEnabled: this.#meta.chatEnabled };
    const history = [...this.#history];
    const oldest = history[0]?.seq ?? this.#seq + 1;
    const slot = (m: { userId: string; since?: number | undefined }): JoinSlot => {
      if (this.#meta.bans?.includes(m.userId)) return { error: { code: "FORBIDDEN", message: "You are banned from this room" } };
      if (m.since === undefined) return { from: 0 };
      if (m.since > this.#seq) return { from: 0, reset: "ahead" };
      if (m.since < oldest - 1) return { from: 0, reset: "behind" };
      return { from: firstAfter(history, m.since) };
    };
    return { base, history, members: members.map(slot) };
  }

  /**
   * A chat message. With `cid` (the client's id for the message) a re-send whose first answer
   * was lost (a gateway or the room's owner died) returns the first copy's event instead of
   * storing it again, as long as that copy is within the room's history (the durable log's
   * recent events, also after the room moved to another node).
   */
  /** Sequenced events after `since` still in the history (all of it when `since` is older). */
  since(since: number): RoomEvent[] {
    return this.#history.filter((e) => e.seq > since);
  }

  async chat(user: UserRef, text: string, cid?: string): Promise<RoomEvent> {
    const clean = text.trim();
    if (!clean) throw new AppError("BAD_REQUEST", "Empty message");
    if (clean.length > this.#deps.settings.chatMaxLength) throw new AppError("BAD_REQUEST", `Messages are at most ${this.#deps.settings.chatMaxLength} characters`);
    const first = cid === undefined ? undefined : this.#sent(user.id, cid);
    if (first) return first;
    this.#checkMayChat(user.id);
    if (cid === undefined) return this.#append({ kind: "chat", user, text: clean });
    // Checked again in order: the first copy may still have been on its way to the log.
    return this.#serial(() => this.#sent(user.id, cid) ?? this.#appendNow({ kind: "chat", user, text: clean, cid }));
  }

  #sent(userId: string, cid: string): RoomEvent | undefined {
    return this.#history.find((e) => e.kind === "chat" && e.cid === cid && e.user.id === userId);
  }

  react(counts: Partial<Record<string, number>>): void {
    for (const [emoji, n] of Object.entries(counts)) {
      if (!(REACTIONS as readonly string[]).includes(emoji)) throw new AppError("BAD_REQUEST", `Unknown reaction ${emoji.slice(0, 8)}; use one of ${REACTIONS.join(" ")}`);
      if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 100_000) throw new AppError("BAD_REQUEST", "Reaction counts are positive integers");
    }
    for (const [emoji, n] of Object.entries(counts)) this.#reactions.set(emoji as Reaction, (this.#reactions.get(emoji as Reaction) ?? 0) + (n ?? 0));
  }

  async pollCreate(question: string, options: string[]): Promise<RoomEvent> {
    return this.#serial(async () => this.#appendNow({ kind: "poll.opened", poll: await this.#polls.create(question, options) }));
  }

  async pollVote(pollId: string, userId: string, option: number): Promise<PollPublic> {
    if (this.#meta.bans?.includes(userId)) throw new AppError("FORBIDDEN", "You are banned from this room");
    const poll = await this.#polls.vote(pollId, userId, option);
    this.#dirtyPolls.add(pollId);
    return poll;
  }

  async pollClose(pollId: string): Promise<RoomEvent> {
    return this.#serial(async () => this.#appendNow({ kind: "poll.closed", poll: await this.#polls.close(pollId) }));
  }

  async deleteMessage(target: number, by: string): Promise<RoomEvent> {
    if (!this.#history.some((e) => e.seq === target && e.kind === "chat")) throw new AppError("NOT_FOUND", "No such chat message in the room's history");
    return this.#append({ kind: "deleted", target, by });
  }

  async mute(userId: string, seconds: number): Promise<RoomEvent> {
    const until = Date.now() + seconds * 1000;
    await this.#updateMeta((m) => ({ ...m, mutes: { ...(m.mutes ?? {}), [userId]: until } }));
    return this.#append({ kind: "muted", userId, until });
  }

  async ban(userId: string): Promise<RoomEvent> {
    await this.#updateMeta((m) => ({ ...m, bans: [...new Set([...(m.bans ?? []), userId])] }));
    return this.#append({ kind: "banned", userId });
  }

  /** A gateway node's local audience for this room (count and a few names). */
  presence(nodeId: string, count: number, sample: UserRef[]): void {
    if (count === 0) this.#presence.delete(nodeId);
    else this.#presence.set(nodeId, { count, sample: sample.slice(0, 20), at: Date.now() });
  }

  settingsChanged(meta: RoomMeta): void {
    this.#meta = meta;
  }

  #checkMayChat(userId: string): void {
    const m = this.#meta;
    if (m.bans?.includes(userId)) throw new AppError("FORBIDDEN", "You are banned from this room");
    const mutedUntil = m.mutes?.[userId] ?? 0;
    if (mutedUntil > Date.now()) throw new AppError("FORBIDDEN", "You are muted in this room", { mutedUntil });
    if (!m.chatEnabled) throw new AppError("FORBIDDEN", "Chat is off in this room");
    const wait = this.#chatLimiter.take(userId);
    if (wait > 0) throw new AppError("RATE_LIMITED", "You are chatting too fast", { retryAfterSec: Math.ceil(wait) });
    const last = this.#lastChat.get(userId) ?? 0;
    const slow = m.slowModeSec * 1000 - (Date.now() - last);
    if (m.slowModeSec > 0 && slow > 0) throw new AppError("RATE_LIMITED", `Slow mode: one message every ${m.slowModeSec}s`, { retryAfterSec: Math.ceil(slow / 1000) });
    this.#lastChat.set(userId, Date.now());
  }

  #append(e: NewRoomEvent): Promise<RoomEvent> {
    return this.#serial(() => this.#appendNow(e));
  }

  /** Runs `fn` after every earlier sequenced write of this room: seq order = log order = fan-out order. */
  #serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #appendNow(e: NewRoomEvent): Promise<RoomEvent> {
    const event = { ...e, seq: this.#seq + 1, ts: Date.now() };
    await this.#deps.log.append(this.id, event); // CONFLICT here means another node owns the room now
    this.#seq = event.seq;
    this.#history.push(event);
    if (this.#history.length > this.#deps.settings.historySize) this.#history.shift();
    this.#deps.publish(this.id, [event]);
    return event;
  }

  async #updateMeta(change: (m: RoomMeta) => RoomMeta): Promise<void> {
    const e = await mustGet<RoomMeta>(this.#deps.store, "rooms", this.id, "room");
    const next = { ...change(e.value), updatedAt: Date.now() };
    await this.#deps.store.put("rooms", this.id, next, { expect: e.revision });
    this.#meta = next;
  }

  #presenceTotal(): { count: number; sample: UserRef[] } {
    const now = Date.now();
    let count = 0;
    const sample: UserRef[] = [];
    for (const [node, p] of this.#presence) {
      if (now - p.at > PRESENCE_STALE_MS) {
        this.#presence.delete(node); // that gateway stopped reporting: it died
        continue;
      }
      count += p.count;
      for (const u of p.sample) if (sample.length < 20 && !sample.some((s) => s.id === u.id)) sample.push(u);
    }
    return { count, sample };
  }

  #flushAggregates(): void {
    const items: Ephemeral[] = [];
    if (this.#reactions.size > 0) {
      items.push({ kind: "reactions", counts: Object.fromEntries(this.#reactions), windowMs: this.#deps.settings.reactionWindowMs });
      this.#reactions.clear();
    }
    for (const id of this.#dirtyPolls) items.push({ kind: "poll.tally", poll: this.#polls.public(id) });
    this.#dirtyPolls.clear();
    if (items.length > 0) this.#deps.publish(this.id, items);
  }

  #flushPresence(): void {
    const p = this.#presenceTotal();
    const key = `${p.count}|${p.sample.map((u) => u.id).join(",")}`;
    if (key === this.#presenceSent) return;
    // A big room's count changes all the time and every change reaches everyone: at most once
    // per presenceDebounceMs per 1,000 members, up to 10 s (a 20,000-member room: every 10 s,
    // not 40,000 deliveries a second for a number; the join answer still carries it exactly).
    const debounce = this.#deps.settings.presenceDebounceMs;
    const every = Math.min(Math.max(PRESENCE_BIG_MAX_MS, debounce), debounce * Math.ceil(p.count / 1000));
    if (every > debounce && Date.now() - this.#presenceSentAt < every) return;
    this.#presenceSent = key;
    this.#presenceSentAt = Date.now();
    this.#deps.publish(this.id, [{ kind: "presence", ...p }]);
  }
}

/** The index of the first event with a seq above `seq` in a history ordered by seq. */
function firstAfter(history: readonly RoomEvent[], seq: number): number {
  let lo = 0;
  let hi = history.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((history[mid]?.seq ?? Infinity) > seq) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * One stream's room as the app sees it: chat (by seq, gaps recovered on rejoin with `since`),
 * polls, reaction totals and presence, fed by the socket's `room` pushes. Chat sending has an
 * outbox: a message stays queued (and is re-sent with the same `cid`, stored once) until the
 * server acknowledges it, so a lost connection or an expired session never loses what was typed.
 */
import { errorText } from "./api";
import { uid } from "./lib/uid";
import { isRetryable, retryDelayMs } from "../../../protocol/errors";
import type { JoinAnswer, PollPublic, RoomEvent, RoomItem } from "../../../protocol/rooms";
import { socket, SocketError, type Push } from "./socket";

/** A chat message as shown: the wire's chat event, marked when a moderator deleted it. */
export type ChatEvent = Extract<RoomEvent, { kind: "chat" }> & { deleted?: boolean };
export type Poll = PollPublic;
export type Presence = JoinAnswer["presence"];
export interface Outgoing {
  cid: string;
  text: string;
  error?: string;
}

/** A refusal worth sending again later: the socket was down (OFFLINE, local), or the wire says a
 *  retry can succeed. INTERNAL too is retryable on the wire, but a chat message refused by a bug
 *  goes back to its author rather than blocking every message after it. */
const retryable = (code: string): boolean => code === "OFFLINE" || (code !== "INTERNAL" && isRetryable(code));
const MAX_MESSAGES = 300;
/** The unacknowledged messages of a room, kept in sessionStorage: a reload re-sends them (same
 *  `cid`: the server stores each once), as it keeps the composer's draft. */
const outboxKey = (room: string) => `esh.outbox.${room}`;

function loadOutbox(room: string): Outgoing[] {
  try {
    const v = JSON.parse(sessionStorage.getItem(outboxKey(room)) ?? "[]") as unknown;
    if (!Array.isArray(v)) return [];
    return v.filter((m): m is Outgoing => typeof m === "object" && m !== null && typeof (m as Outgoing).cid === "string" && typeof (m as Outgoing).text === "string").slice(0, 50).map((m) => ({ cid: m.cid, text: m.text }));
  } catch {
    return [];
  }
}

export class RoomModel {
  readonly id: string;
  messages: ChatEvent[] = [];
  polls = new Map<string, Poll>();
  reactions: Record<string, number> = {};
  presence: Presence = { count: 0, sample: [] };
  outbox: Outgoing[] = [];
  joined = false;
  error = "";
  /** Removed from this room (banned): chat is closed to this user here. */
  kicked = false;
  #lastSeq = 0;
  #buffer: RoomItem[][] = [];
  #flushing = false;
  #retrying = false;
  #closed = false;
  readonly #refused: Outgoing[] = [];
  readonly #listeners = new Set<() => void>();
  readonly #off: (() => void)[] = [];

  constructor(id: string) {
    this.id = id;
    this.outbox = loadOutbox(id);
    this.#off.push(socket.onPush((f) => this.#onPush(f)));
    this.#off.push(socket.onState((online) => (online ? void this.#join() : this.#offline())));
    socket.start();
    if (socket.online) void this.#join();
  }

  on(l: () => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  close(): void {
    this.#closed = true;
    for (const off of this.#off) off();
    if (socket.online) void socket.request("room.leave", { room: this.id }).catch(() => undefined);
  }

  /** Queues a chat message; it is sent now and re-sent after reconnects until acknowledged. */
  chat(text: string): void {
    this.outbox.push({ cid: uid(), text });
    this.#saveOutbox();
    this.#changed();
    void this.#flush();
  }

  react(emoji: string): boolean {
    return socket.send("room.react", { room: this.id, emoji });
  }

  /** A moderation or poll action; resolves with an error message, or "" when it worked. */
  async act(t: string, d: Record<string, unknown>): Promise<string> {
    try {
      const poll = await socket.request<Poll | undefined>(t, { room: this.id, ...d });
      if (t === "room.vote" && poll) this.#setPoll(poll);
      return "";
    } catch (err) {
      return errorText(err);
    }
  }

  async #join(): Promise<void> {
    try {
      const ans = await socket.request<JoinAnswer>("room.join", this.#lastSeq ? { room: this.id, since: this.#lastSeq } : { room: this.id });
      if (ans.reset) this.messages = [];
      for (const e of ans.events) this.#apply(e);
      for (const p of ans.polls) this.#setPoll(p);
      this.presence = ans.presence;
      this.joined = true;
      this.error = "";
      for (const items of this.#buffer.splice(0)) this.#applyItems(items);
      void this.#flush();
    } catch (err) {
      const code = err instanceof SocketError ? err.code : "";
      this.error = code === "OFFLINE" ? "" : errorText(err);
      // The room moving between nodes, a node restarting, a gateway shedding load: joined again
      // after the wait the server asked for (1-2 s when it named none; OFFLINE rejoins on reconnect).
      const wait = retryDelayMs(err instanceof SocketError ? err.data : undefined, 1000 + Math.random() * 1000);
      if (code !== "OFFLINE" && retryable(code) && !this.#closed) setTimeout(() => void (this.#closed || this.joined || this.#join()), wait);
    }
    this.#changed();
  }

  #canSend(): boolean {
    return this.joined;
  }

  #offline(): void {
    this.joined = false;
    this.#changed();
  }

  /** Sends the outbox in order; stops at the first retryable failure (resumed on rejoin). */
  async #flush(): Promise<void> {
    if (this.#flushing || !this.joined) return;
    this.#flushing = true;
    try {
      while (this.outbox.length && this.#canSend()) {
        const m = this.outbox[0] as Outgoing;
        try {
          await socket.request("room.chat", { room: this.id, text: m.text, cid: m.cid });
          this.outbox.shift();
          this.#saveOutbox();
        } catch (err) {
          const code = err instanceof SocketError ? err.code : "";
          if (retryable(code)) {
            // Offline: resumed on rejoin. Otherwise (rate limited, a timeout) tried again after the
            // wait the server asked for, or 2 s: the outbox never stalls while the socket is up.
            if (code !== "OFFLINE" && !this.#retrying) {
              this.#retrying = true;
              const wait = retryDelayMs(err instanceof SocketError ? err.data : undefined, 2000);
              setTimeout(() => {
                this.#retrying = false;
                if (!this.#closed) void this.#flush();
              }, Math.min(60_000, Math.max(250, wait)));
            }
            break;
          }
          m.error = errorText(err);
          this.outbox.shift();
          this.#saveOutbox();
          this.#refused.push(m);
        }
        this.#changed();
      }
    } finally {
      this.#flushing = false;
    }
  }

  /** A message the server refused for good (muted, banned...): the composer gives it back. */
  takeRefused(): Outgoing | undefined {
    return this.#refused.shift();
  }

  #onPush(f: Push): void {
    if (f.t === "room.kicked") {
      if ((f.d as { room?: string }).room !== this.id) return;
      this.kicked = true;
      this.error = "You were removed from this room";
      return this.#changed();
    }
    if (f.t !== "room") return;
    const d = f.d as { room: string; items: RoomItem[] };
    if (d.room !== this.id) return;
    if (!this.joined) this.#buffer.push(d.items);
    else this.#applyItems(d.items);
    this.#changed();
  }

  #applyItems(items: RoomItem[]): void {
    for (const it of items) {
      if ("seq" in it) this.#apply(it);
      else if (it.kind === "reactions") for (const [e, n] of Object.entries(it.counts)) this.reactions = { ...this.reactions, [e]: (this.reactions[e] ?? 0) + n };
      else if (it.kind === "poll.tally") this.#setPoll(it.poll);
      else this.presence = { count: it.count, sample: it.sample };
    }
  }

  #apply(e: RoomEvent): void {
    if (e.seq <= this.#lastSeq) return; // seen already (join answer and live pushes overlap)
    this.#lastSeq = e.seq;
    if (e.kind === "chat") this.messages = [...this.messages.slice(-MAX_MESSAGES + 1), e];
    else if (e.kind === "deleted") this.messages = this.messages.map((m) => (m.seq === e.target ? { ...m, deleted: true, text: "message deleted" } : m));
    else if (e.kind === "poll.opened" || e.kind === "poll.closed") this.#setPoll(e.poll);
  }

  #setPoll(p: Poll): void {
    this.polls = new Map(this.polls).set(p.id, p);
  }

  #saveOutbox(): void {
    const key = outboxKey(this.id);
    if (this.outbox.length) sessionStorage.setItem(key, JSON.stringify(this.outbox.map((m) => ({ cid: m.cid, text: m.text }))));
    else sessionStorage.removeItem(key);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}

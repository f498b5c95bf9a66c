/**
 * One stream's room as the app sees it: chat (by seq, gaps recovered on rejoin with `since`),
 * polls, reaction totals and presence, fed by the socket's `room` pushes. Chat sending has an
 * outbox: a message stays queued (and is re-sent with the same `cid`, stored once) until the
 * server acknowledges it, so a lost connection or an expired session never loses what was typed.
 */
import { errorText } from "./api";
import { isRetryable } from "../../../protocol/errors";
import { socket, SocketError, type Push } from "./socket";

export interface ChatEvent {
  seq: number;
  kind: "chat";
  user: { id: string; name: string };
  text: string;
  deleted?: boolean;
}
export interface Poll {
  id: string;
  question: string;
  options: string[];
  counts: number[];
  open: boolean;
}
export interface Presence {
  count: number;
  sample: { id: string; name: string }[];
}
export interface Outgoing {
  cid: string;
  text: string;
  error?: string;
}
interface RoomEvent {
  seq: number;
  kind: string;
  target?: number;
  poll?: Poll;
}
type RoomItem = RoomEvent | { kind: "reactions"; counts: Record<string, number> } | { kind: "poll.tally"; poll: Poll } | ({ kind: "presence" } & Presence);
interface JoinAnswer {
  events: RoomEvent[];
  polls: Poll[];
  presence: Presence;
  reset?: boolean;
}

/** A refusal worth sending again later: the socket was down (OFFLINE, local), or the wire says so. */
const retryable = (code: string): boolean => code === "OFFLINE" || isRetryable(code);
const MAX_MESSAGES = 300;

export class RoomModel {
  readonly id: string;
  messages: ChatEvent[] = [];
  polls = new Map<string, Poll>();
  reactions: Record<string, number> = {};
  presence: Presence = { count: 0, sample: [] };
  outbox: Outgoing[] = [];
  joined = false;
  error = "";
  #lastSeq = 0;
  #buffer: RoomItem[][] = [];
  #flushing = false;
  readonly #refused: Outgoing[] = [];
  readonly #listeners = new Set<() => void>();
  readonly #off: (() => void)[] = [];

  constructor(id: string) {
    this.id = id;
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
    for (const off of this.#off) off();
    if (socket.online) void socket.request("room.leave", { room: this.id }).catch(() => undefined);
  }

  /** Queues a chat message; it is sent now and re-sent after reconnects until acknowledged. */
  chat(text: string): void {
    this.outbox.push({ cid: crypto.randomUUID(), text });
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
      this.error = err instanceof SocketError && err.code === "OFFLINE" ? "" : errorText(err);
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
        } catch (err) {
          const code = err instanceof SocketError ? err.code : "";
          if (retryable(code)) break;
          m.error = errorText(err);
          this.outbox.shift();
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
    if (e.kind === "chat") this.messages = [...this.messages.slice(-MAX_MESSAGES + 1), e as unknown as ChatEvent];
    else if (e.kind === "deleted") this.messages = this.messages.map((m) => (m.seq === e.target ? { ...m, deleted: true, text: "message deleted" } : m));
    else if (e.poll) this.#setPoll(e.poll);
  }

  #setPoll(p: Poll): void {
    this.polls = new Map(this.polls).set(p.id, p);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}

/**
 * Polls of one room. Votes are final (no changing): a vote is a create-only key per
 * (poll, user), so "once" holds across ownership moves and concurrent requests alike.
 * Only registered accounts vote (guests can mint new identities at will).
 */
import { randomBytes } from "node:crypto";
import { AppError, hasCode } from "../../lib/errors.js";
import type { Store } from "../../store/index.js";
import type { PollPublic } from "../../protocol/rooms.js";

const POLLS = "room_polls";
const VOTES = "room_votes";

interface PollRecord {
  id: string;
  question: string;
  options: string[];
  open: boolean;
  createdAt: number;
}

export class Polls {
  readonly #room: string;
  readonly #store: Store;
  readonly #polls = new Map<string, { rec: PollRecord; counts: number[] }>();

  private constructor(room: string, store: Store) {
    this.#room = room;
    this.#store = store;
  }

  static async load(room: string, store: Store): Promise<Polls> {
    const polls = new Polls(room, store);
    for (const e of await store.list<PollRecord>(POLLS, `${room}.`)) {
      const counts = e.value.options.map(() => 0);
      for (const v of await store.list<{ option: number }>(VOTES, `${room}.${e.value.id}.`)) counts[v.value.option] = (counts[v.value.option] ?? 0) + 1;
      polls.#polls.set(e.value.id, { rec: e.value, counts });
    }
    return polls;
  }

  async create(question: string, options: string[]): Promise<PollPublic> {
    const rec: PollRecord = { id: randomBytes(6).toString("base64url"), question, options, open: true, createdAt: Date.now() };
    await this.#store.put(POLLS, `${this.#room}.${rec.id}`, rec, { expect: 0 });
    this.#polls.set(rec.id, { rec, counts: options.map(() => 0) });
    return this.public(rec.id);
  }

  async vote(pollId: string, userId: string, option: number): Promise<PollPublic> {
    const p = this.#get(pollId);
    if (!p.rec.open) throw new AppError("CONFLICT", "The poll is closed");
    if (option < 0 || option >= p.rec.options.length) throw new AppError("BAD_REQUEST", "No such option");
    try {
      await this.#store.put(VOTES, `${this.#room}.${pollId}.${userId}`, { option, at: Date.now() }, { expect: 0 });
    } catch (err) {
      if (hasCode(err, "CONFLICT")) throw new AppError("CONFLICT", "You already voted in this poll (votes are final)");
      throw err;
    }
    p.counts[option] = (p.counts[option] ?? 0) + 1;
    return this.public(pollId);
  }

  async close(pollId: string): Promise<PollPublic> {
    const p = this.#get(pollId);
    if (!p.rec.open) throw new AppError("CONFLICT", "The poll is already closed");
    const e = await this.#store.get<PollRecord>(POLLS, `${this.#room}.${pollId}`);
    p.rec = { ...p.rec, open: false };
    await this.#store.put(POLLS, `${this.#room}.${pollId}`, p.rec, e ? { expect: e.revision } : {});
    return this.public(pollId);
  }

  public(pollId: string): PollPublic {
    const p = this.#get(pollId);
    return { id: p.rec.id, question: p.rec.question, options: [...p.rec.options], open: p.rec.open, counts: [...p.counts], votes: p.counts.reduce((a, b) => a + b, 0) };
  }

  all(): PollPublic[] {
    return [...this.#polls.keys()].map((id) => this.public(id));
  }

  #get(pollId: string): { rec: PollRecord; counts: number[] } {
    const p = this.#polls.get(pollId);
    if (!p) throw new AppError("NOT_FOUND", "No such poll");
    return p;
  }
}

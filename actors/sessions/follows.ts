/**
 * Who follows whom: a viewer with an account follows creators, and may mute a creator's "went
 * live" notifications while still following. Two collections, one per direction, so both "whom
 * do I follow" and "who follows this creator" are one prefix list:
 *   follows/<followerId>.<creatorId>    {creatorId, creatorName, muted, at}
 *   followers/<creatorId>.<followerId>  {muted, at}
 * The follower side is written first and removed last: a half-done write leaves at worst a
 * follower entry without its follow (a notification to someone who just unfollowed), never the
 * reverse (a follow that notifies nobody).
 */
import { AppError, hasCode } from "../../lib/errors.js";
import type { Store } from "../../store/index.js";

export interface Follow {
  creatorId: string;
  creatorName: string;
  muted: boolean;
  at: number;
}

interface Follower {
  muted: boolean;
  at: number;
}

const FOLLOWS = "follows";
const FOLLOWERS = "followers";
/** Per creator: how many follow them (kept with each follow and unfollow, so a count is one read). */
const COUNTS = "follower_counts";
/** Per creator: when their followers were last told they went live. */
const TOLD = "live_told";
/** A viewer follows at most this many creators (a list a person can read). */
export const MAX_FOLLOWS = 1000;

export class Follows {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async follow(followerId: string, creator: { id: string; name: string }): Promise<Follow> {
    if (followerId === creator.id) throw new AppError("BAD_REQUEST", "You cannot follow yourself");
    const held = await this.#store.get<Follow>(FOLLOWS, `${followerId}.${creator.id}`);
    if (held) return held.value;
    if ((await this.list(followerId)).length >= MAX_FOLLOWS) throw new AppError("CONFLICT", `You follow ${String(MAX_FOLLOWS)} creators already: unfollow some first`);
    const f: Follow = { creatorId: creator.id, creatorName: creator.name, muted: false, at: Date.now() };
    await this.#store.put(FOLLOWERS, `${creator.id}.${followerId}`, { muted: false, at: f.at } satisfies Follower);
    try {
      await this.#store.put(FOLLOWS, `${followerId}.${creator.id}`, f, { expect: 0 });
    } catch (err) {
      if (!hasCode(err, "CONFLICT")) throw err;
      // Followed concurrently: counted once, and its mirror keeps that follow's mute.
      const won = (await this.get(followerId, creator.id)) ?? f;
      await this.#store.put(FOLLOWERS, `${creator.id}.${followerId}`, { muted: won.muted, at: won.at } satisfies Follower);
      return won;
    }
    await this.#count(creator.id, 1);
    return f;
  }

  async unfollow(followerId: string, creatorId: string): Promise<void> {
    const held = await this.#store.get<Follow>(FOLLOWS, `${followerId}.${creatorId}`);
    if (!held) return;
    try {
      await this.#store.delete(FOLLOWS, `${followerId}.${creatorId}`, { expect: held.revision });
    } catch (err) {
      if (hasCode(err, "CONFLICT")) return; // unfollowed (or muted) concurrently: that call decides
      throw err;
    }
    await this.#store.delete(FOLLOWERS, `${creatorId}.${followerId}`);
    await this.#count(creatorId, -1);
  }

  /** How many follow a creator: one read. */
  async count(creatorId: string): Promise<number> {
    return (await this.#store.get<{ n: number }>(COUNTS, creatorId))?.value.n ?? 0;
  }

  /** Adds to a creator's count (compare-and-set, retried on a concurrent change). */
  async #count(creatorId: string, by: number): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const e = await this.#store.get<{ n: number }>(COUNTS, creatorId);
      try {
        await this.#store.put(COUNTS, creatorId, { n: Math.max(0, (e?.value.n ?? 0) + by) }, { expect: e?.revision ?? 0 });
        return;
      } catch (err) {
        if (!hasCode(err, "CONFLICT")) throw err;
      }
    }
    throw new AppError("UNAVAILABLE", "The follower count is busy: try again");
  }

  /** Whether to tell a creator's followers they went live now: at most once per `everyMs` (a
   *  creator who starts many shows in a row does not flood anyone); one node wins a race. */
  async mayTell(creatorId: string, now: number, everyMs: number): Promise<boolean> {
    const e = await this.#store.get<{ at: number }>(TOLD, creatorId);
    if (e && now - e.value.at < everyMs) return false;
    try {
      await this.#store.put(TOLD, creatorId, { at: now }, { expect: e?.revision ?? 0 });
      return true;
    } catch (err) {
      if (hasCode(err, "CONFLICT")) return false;
      throw err;
    }
  }

  /** Mutes (or unmutes) one creator's notifications; NOT_FOUND when not following them. */
  async setMuted(followerId: string, creatorId: string, muted: boolean): Promise<Follow> {
    const held = await this.#store.get<Follow>(FOLLOWS, `${followerId}.${creatorId}`);
    if (!held) throw new AppError("NOT_FOUND", "You do not follow this creator");
    const f: Follow = { ...held.value, muted };
    // The follow first, only if it is still there (an unfollow meanwhile wins), then its mirror.
    await this.#store.put(FOLLOWS, `${followerId}.${creatorId}`, f, { expect: held.revision }).catch((err: unknown) => {
      throw hasCode(err, "CONFLICT") ? new AppError("CONFLICT", "The follow changed meanwhile: try again") : err;
    });
    await this.#store.put(FOLLOWERS, `${creatorId}.${followerId}`, { muted, at: f.at } satisfies Follower);
    return f;
  }

  async list(followerId: string): Promise<Follow[]> {
    return (await this.#store.list<Follow>(FOLLOWS, `${followerId}.`)).map((e) => e.value).sort((a, b) => b.at - a.at);
  }

  async get(followerId: string, creatorId: string): Promise<Follow | undefined> {
    return (await this.#store.get<Follow>(FOLLOWS, `${followerId}.${creatorId}`))?.value;
  }

  /** The followers to tell a creator went live (not muted). */
  async toNotify(creatorId: string): Promise<string[]> {
    const all = await this.#store.list<Follower>(FOLLOWERS, `${creatorId}.`);
    return all.filter((e) => !e.value.muted).map((e) => e.key.slice(creatorId.length + 1));
  }
}

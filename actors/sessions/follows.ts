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
import { AppError } from "../../lib/errors.js";
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
    await this.#store.put(FOLLOWS, `${followerId}.${creator.id}`, f);
    return f;
  }

  async unfollow(followerId: string, creatorId: string): Promise<void> {
    await this.#store.delete(FOLLOWS, `${followerId}.${creatorId}`);
    await this.#store.delete(FOLLOWERS, `${creatorId}.${followerId}`);
  }

  /** Mutes (or unmutes) one creator's notifications; NOT_FOUND when not following them. */
  async setMuted(followerId: string, creatorId: string, muted: boolean): Promise<Follow> {
    const held = await this.#store.get<Follow>(FOLLOWS, `${followerId}.${creatorId}`);
    if (!held) throw new AppError("NOT_FOUND", "You do not follow this creator");
    const f: Follow = { ...held.value, muted };
    await this.#store.put(FOLLOWERS, `${creatorId}.${followerId}`, { muted, at: f.at } satisfies Follower);
    await this.#store.put(FOLLOWS, `${followerId}.${creatorId}`, f);
    return f;
  }

  async list(followerId: string): Promise<Follow[]> {
    return (await this.#store.list<Follow>(FOLLOWS, `${followerId}.`)).map((e) => e.value).sort((a, b) => b.at - a.at);
  }

  async get(followerId: string, creatorId: string): Promise<Follow | undefined> {
    return (await this.#store.get<Follow>(FOLLOWS, `${followerId}.${creatorId}`))?.value;
  }

  /** A creator's followers: how many, and the ids to notify (not muted). */
  async followers(creatorId: string): Promise<{ count: number; notify: string[] }> {
    const all = await this.#store.list<Follower>(FOLLOWERS, `${creatorId}.`);
    return { count: all.length, notify: all.filter((e) => !e.value.muted).map((e) => e.key.slice(creatorId.length + 1)) };
  }
}

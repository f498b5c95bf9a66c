/**
 * The rows around the model's: Continue watching (videos a user left part-way, from their own
 * playhead reports), Following (what the creators they follow put out, live first), and each
 * row's explanation (`why`). Pure functions over the catalog and a user's pairs.
 */
import type { Pair } from "./features.js";

/** What these rows read of a catalog entry (engine.ts CatalogEntry). */
export interface Entry {
  id: string;
  title: string;
  kind: "live" | "vod";
  status: string;
  ownerId: string;
  ownerName?: string;
  createdAt?: number;
  durationSec?: number;
}

export interface FollowedCreator {
  creatorId: string;
  creatorName: string;
}

/** A video counts as started after this much, and as finished within this much of its end (or
 *  past 95% of it). */
export const STARTED_MS = 10_000;
const FINISHED_TAIL_MS = 30_000;
const FINISHED_SHARE = 0.95;

/** Where to resume a video of this length from a playhead, or undefined (not started, or finished). */
export function resumeAt(positionMs: number, durationSec: number | undefined): number | undefined {
  if (durationSec === undefined || durationSec <= 0 || positionMs < STARTED_MS) return undefined;
  const length = durationSec * 1000;
  if (positionMs >= length - FINISHED_TAIL_MS || positionMs >= length * FINISHED_SHARE) return undefined;
  return positionMs;
}

/** The user's videos left part-way, most recently watched first, with where they left off. */
export function continueWatching(pairs: readonly Pair[], byId: ReadonlyMap<string, Entry>, hidden: ReadonlySet<string>): { entry: Entry; resumeMs: number }[] {
  const out: { entry: Entry; resumeMs: number; at: number }[] = [];
  for (const p of pairs) {
    const e = byId.get(p.stream);
    if (!e || e.kind !== "vod" || e.status !== "ready" || hidden.has(p.stream)) continue;
    const at = resumeAt(p.lastPositionMs, e.durationSec);
    if (at !== undefined) out.push({ entry: e, resumeMs: at, at: p.lastMs });
  }
  return out.sort((a, b) => b.at - a.at).map(({ entry, resumeMs }) => ({ entry, resumeMs }));
}

/** What followed creators have: live shows first, then their newest videos (playable, not hidden). */
export function fromFollowed(follows: readonly FollowedCreator[], catalog: readonly Entry[], hidden: ReadonlySet<string>): Entry[] {
  const ids = new Set(follows.map((f) => f.creatorId));
  const playable = (s: Entry) => (s.kind === "vod" ? s.status === "ready" : s.status === "live");
  return catalog
    .filter((s) => ids.has(s.ownerId) && playable(s) && !hidden.has(s.id))
    .sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "live" ? -1 : 1) || (b.createdAt ?? 0) - (a.createdAt ?? 0));
}

/** "A, B and 3 more". */
export function names(list: readonly string[], shown = 2): string {
  const head = list.slice(0, shown);
  const more = list.length - head.length;
  if (more > 0) return `${head.join(", ")} and ${String(more)} more`;
  return head.length <= 1 ? (head[0] ?? "") : `${head.slice(0, -1).join(", ")} and ${head.at(-1) ?? ""}`;
}

/** Why "For you" holds what it holds: the user's strongest watches, and whom they follow. */
export function forYouWhy(topWatched: readonly string[], followed: readonly string[]): string {
  const watched = topWatched.length ? `Because you watched ${names(topWatched)}` : "Picked for you";
  return followed.length ? `${watched}, and follow ${names(followed)}` : watched;
}

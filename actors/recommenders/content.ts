/**
 * Content features in the ranking: a user's profile over the items they watched — their
 * categories, creators and languages, and whether live or VOD, each weighted by the watch's
 * confidence — and the creators they follow. A candidate's content score is how much of the
 * profile it shares; the final score blends it with the model's (standardised over the
 * candidates). The model learns who-watches-what; this reads what the items are, so a thin
 * history, a new item or a followed creator counts from the first watch. `npm run eval:recs`
 * reports the model alone and blended, beside the baselines.
 */

export interface ItemFeatures {
  category: string | number;
  creator: string | number;
  language: string | number;
  live: boolean;
}

export interface Profile {
  /** Share of the user's history (by confidence) per category, creator, language, live/VOD. */
  category: Map<string | number, number>;
  creator: Map<string | number, number>;
  language: Map<string | number, number>;
  live: number;
  /** Creators the user follows. */
  follows: ReadonlySet<string | number>;
}

/** How much each feature counts in the content score (the profile's shares are 0..1). */
export const CONTENT_WEIGHTS = { category: 1, creator: 0.6, language: 0.3, live: 0.1, follow: 0.8 } as const;
/** The content score's weight against the model's standardised score. */
export const BLEND = 1.5;

export function profile(history: Iterable<[item: ItemFeatures, weight: number]>, follows: ReadonlySet<string | number> = new Set()): Profile {
  const p: Profile = { category: new Map(), creator: new Map(), language: new Map(), live: 0, follows };
  let total = 0;
  for (const [f, w] of history) {
    if (!(w > 0)) continue;
    total += w;
    p.category.set(f.category, (p.category.get(f.category) ?? 0) + w);
    p.creator.set(f.creator, (p.creator.get(f.creator) ?? 0) + w);
    p.language.set(f.language, (p.language.get(f.language) ?? 0) + w);
    if (f.live) p.live += w;
  }
  if (total > 0) {
    for (const m of [p.category, p.creator, p.language]) for (const [k, v] of m) m.set(k, v / total);
    p.live /= total;
  }
  return p;
}

export function contentScore(p: Profile, f: ItemFeatures): number {
  const W = CONTENT_WEIGHTS;
  return W.category * (p.category.get(f.category) ?? 0) + W.creator * (p.creator.get(f.creator) ?? 0) + W.language * (p.language.get(f.language) ?? 0) + W.live * (f.live ? p.live : 1 - p.live) + (p.follows.has(f.creator) ? W.follow : 0);
}

/** Re-ranks candidates: the model's scores standardised (mean 0, sd 1 over the candidates) plus
 *  BLEND x the content score. Returns them best first. */
export function blend<T extends { score: number }>(candidates: T[], content: (c: T) => number): T[] {
  if (candidates.length === 0) return [];
  const mean = candidates.reduce((s, c) => s + c.score, 0) / candidates.length;
  const sd = Math.sqrt(candidates.reduce((s, c) => s + (c.score - mean) ** 2, 0) / candidates.length) || 1;
  return candidates
    .map((c) => ({ c, s: (c.score - mean) / sd + BLEND * content(c) }))
    .sort((a, b) => b.s - a.s)
    .map(({ c, s }) => ({ ...c, score: s }));
}

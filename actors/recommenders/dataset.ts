/**
 * A seeded dataset with planted preferences, for evaluation and tests: users with latent tastes
 * over genres, items with a genre (their category), a creator, a language and live/VOD, a
 * Zipf-like popularity skew, and sessions in time order. What a user watches depends on taste
 * and popularity both, so popularity alone is a real baseline, and taste is there to be learned.
 */
export interface Item {
  id: number;
  category: number;
  creator: number;
  language: number;
  live: boolean;
  popularity: number;
}

export interface Interaction {
  user: number;
  item: number;
  /** Watch time x completion x interaction, folded into one confidence (features.ts). */
  weight: number;
  ts: number;
}

export interface Dataset {
  users: number;
  items: Item[];
  interactions: Interaction[];
}

export interface DatasetOptions {
  users: number;
  items: number;
  perUser: number;
  categories?: number;
  seed?: number;
  /** How much taste outweighs popularity (0 = popularity only). */
  tasteStrength?: number;
}

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generate(o: DatasetOptions): Dataset {
  const rand = rng(o.seed ?? 1);
  const cats = o.categories ?? 12;
  const strength = o.tasteStrength ?? 3;
  const items: Item[] = Array.from({ length: o.items }, (_, id) => ({
    id,
    category: Math.floor(rand() * cats),
    creator: Math.floor(rand() * Math.max(1, o.items / 20)),
    language: rand() < 0.7 ? 0 : 1 + Math.floor(rand() * 3),
    live: rand() < 0.1,
    popularity: 1 / Math.pow(1 + rand() * o.items, 0.8), // heavy head, long tail
  }));
  // P(item) = popularity x exp(strength x taste[category]): pick a category by its popularity
  // mass x taste, then an item inside it by popularity (cumulative sums, binary search).
  const byCat: Item[][] = Array.from({ length: cats }, () => []);
  for (const it of items) byCat[it.category]?.push(it);
  const cums = byCat.map((list) => {
    const c = new Float64Array(list.length);
    let s = 0;
    list.forEach((it, i) => (c[i] = s += it.popularity));
    return c;
  });
  const mass = cums.map((c) => c[c.length - 1] ?? 0);
  const interactions: Interaction[] = [];
  for (let u = 0; u < o.users; u++) {
    // Each user loves 1-2 categories and likes a third a little.
    const taste = new Float64Array(cats).fill(0.02);
    const loves = 1 + Math.floor(rand() * 2);
    for (let l = 0; l < loves; l++) taste[Math.floor(rand() * cats)] = 1;
    const liked = Math.floor(rand() * cats);
    taste[liked] = Math.max(taste[liked] ?? 0, 0.3);
    const catW = mass.map((m, c) => m * Math.exp(strength * (taste[c] ?? 0)));
    const catTotal = catW.reduce((a, b) => a + b, 0);
    const seen = new Set<number>();
    let ts = 1_700_000_000_000 + Math.floor(rand() * 1e9);
    const n = Math.max(3, Math.round(o.perUser * (0.5 + rand())));
    for (let k = 0; k < n * 3 && seen.size < n; k++) {
      let r = rand() * catTotal;
      let c = 0;
      for (; c < cats - 1; c++) if ((r -= catW[c] ?? 0) <= 0) break;
      const pick = byCat[c]?.[search(cums[c] ?? new Float64Array(), rand() * (mass[c] ?? 0))]?.id;
      if (pick === undefined || seen.has(pick)) continue;
      seen.add(pick);
      ts += 60_000 + Math.floor(rand() * 3_600_000);
      const completion = Math.min(1, 0.2 + rand() * (taste[c] ?? 0));
      interactions.push({ user: u, item: pick, weight: 1 + 4 * completion, ts });
    }
  }
  return { users: o.users, items, interactions };
}

/** The first index whose cumulative sum reaches x. */
function search(cum: Float64Array, x: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((cum[mid] ?? 0) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Holds out each user's last `n` interactions (time order) as the test set. */
export function holdOut(d: Dataset, n = 1): { train: Interaction[]; test: Map<number, Set<number>> } {
  const byUser = new Map<number, Interaction[]>();
  for (const i of d.interactions) {
    let l = byUser.get(i.user);
    if (!l) byUser.set(i.user, (l = []));
    l.push(i);
  }
  const train: Interaction[] = [];
  const test = new Map<number, Set<number>>();
  for (const [u, l] of byUser) {
    l.sort((a, b) => a.ts - b.ts);
    const cut = l.length > n + 1 ? l.length - n : l.length;
    train.push(...l.slice(0, cut));
    if (cut < l.length) test.set(u, new Set(l.slice(cut).map((i) => i.item)));
  }
  return { train, test };
}

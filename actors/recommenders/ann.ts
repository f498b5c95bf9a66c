/**
 * Approximate top-K over many items (an inverted-file index): item vectors, with their bias as
 * one more dimension, are clustered by k-means into about sqrt(items) clusters; a query scores
 * the centroids, then only the items of its best `probes` clusters. At 100k items that is a few
 * thousand dot products instead of 100k. Built once per model version; exact topK stays for small
 * catalogs. bench recs reports its recall against the exact result.
 */
import type { Weights } from "./model.js";

export interface ItemIndex {
  clusters: number;
  dim: number;
  /** clusters x (dim + 1): centroid of [v, bias]. */
  centroids: Float32Array;
  /** Items of each cluster. */
  members: Int32Array[];
}

export function buildIndex(m: Weights, seed = 1, iterations = 6, sampleSize = 20_000): ItemIndex {
  const dim = m.dim + 1;
  const clusters = Math.max(1, Math.round(Math.sqrt(m.items)));
  const at = (i: number, d: number) => (d < m.dim ? (m.v[i * m.dim + d] as number) : (m.bias[i] as number));
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const sample = Array.from({ length: Math.min(m.items, sampleSize) }, () => Math.floor(rand() * m.items));
  const centroids = new Float32Array(clusters * dim);
  for (let c = 0; c < clusters; c++) {
    const i = sample[Math.floor(rand() * sample.length)] ?? 0;
    for (let d = 0; d < dim; d++) centroids[c * dim + d] = at(i, d);
  }
  for (let it = 0; it < iterations; it++) {
    const sums = new Float64Array(clusters * dim);
    const counts = new Int32Array(clusters);
    for (const i of sample) {
      const c = nearest(centroids, clusters, dim, i, at);
      counts[c] = (counts[c] as number) + 1;
      for (let d = 0; d < dim; d++) sums[c * dim + d] = (sums[c * dim + d] as number) + at(i, d);
    }
    for (let c = 0; c < clusters; c++) {
      const n = counts[c] as number;
      if (n > 0) for (let d = 0; d < dim; d++) centroids[c * dim + d] = (sums[c * dim + d] as number) / n;
    }
  }
  const lists: number[][] = Array.from({ length: clusters }, () => []);
  for (let i = 0; i < m.items; i++) lists[nearest(centroids, clusters, dim, i, at)]?.push(i);
  return { clusters, dim, centroids, members: lists.map((l) => Int32Array.from(l)) };
}

function nearest(centroids: Float32Array, clusters: number, dim: number, i: number, at: (i: number, d: number) => number): number {
  let best = 0;
  let bestD = Infinity;
  for (let c = 0; c < clusters; c++) {
    let dist = 0;
    for (let d = 0; d < dim; d++) {
      const x = at(i, d) - (centroids[c * dim + d] as number);
      dist += x * x;
    }
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  return best;
}

/** The `k` best items among the members of the `probes` clusters whose centroids score best. */
export function annTopK(m: Weights, index: ItemIndex, u: Float32Array, k: number, exclude: (item: number) => boolean, probes = 24): { item: number; score: number }[] {
  const { dim, centroids, clusters } = index;
  const cs: { c: number; s: number }[] = [];
  for (let c = 0; c < clusters; c++) {
    let s = centroids[c * dim + dim - 1] as number; // the bias dimension, times u's 1
    for (let d = 0; d < dim - 1; d++) s += (u[d] as number) * (centroids[c * dim + d] as number);
    cs.push({ c, s });
  }
  cs.sort((a, b) => b.s - a.s);
  const best: { item: number; score: number }[] = [];
  let floor = -Infinity;
  const md = m.dim;
  for (const { c } of cs.slice(0, probes)) {
    for (const i of index.members[c] ?? []) {
      let s = m.bias[i] as number;
      const row = i * md;
      for (let d = 0; d < md; d++) s += (u[d] as number) * (m.v[row + d] as number);
      if (s <= floor && best.length >= k) continue;
      if (exclude(i)) continue;
      let j = best.length;
      while (j > 0 && (best[j - 1] as { score: number }).score < s) j--;
      best.splice(j, 0, { item: i, score: s });
      if (best.length > k) best.pop();
      if (best.length >= k) floor = (best[best.length - 1] as { score: number }).score;
    }
  }
  return best;
}

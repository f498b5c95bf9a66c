/** Offline metrics over held-out interactions: recall@K, NDCG@K, catalog coverage. */
export interface Metrics {
  recall: number;
  ndcg: number;
  coverage: number;
  users: number;
}

export function evaluate(test: Map<number, Set<number>>, recommend: (user: number) => number[], k: number, catalog: number): Metrics {
  let recall = 0;
  let ndcg = 0;
  const shown = new Set<number>();
  for (const [user, truth] of test) {
    const recs = recommend(user).slice(0, k);
    let hits = 0;
    let dcg = 0;
    recs.forEach((item, rank) => {
      shown.add(item);
      if (truth.has(item)) {
        hits++;
        dcg += 1 / Math.log2(rank + 2);
      }
    });
    let ideal = 0;
    for (let r = 0; r < Math.min(k, truth.size); r++) ideal += 1 / Math.log2(r + 2);
    recall += hits / Math.min(k, truth.size);
    ndcg += ideal > 0 ? dcg / ideal : 0;
  }
  const n = Math.max(1, test.size);
  return { recall: recall / n, ndcg: ndcg / n, coverage: shown.size / catalog, users: test.size };
}

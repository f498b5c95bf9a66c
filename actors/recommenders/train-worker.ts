/**
 * Training off the event loop: a worker thread gets the histories, trains with TensorFlow.js
 * and hands the weights back (transferred, not copied). The node keeps serving meanwhile.
 */
import { parentPort, workerData } from "node:worker_threads";
import { histories, train, type ModelOptions, type Weights } from "./model.js";
import { loadTf } from "./tf.js";
import { buildIndex, type ItemIndex } from "./ann.js";
import type { Interaction } from "./dataset.js";

interface Job {
  items: number;
  interactions: Interaction[];
  options: ModelOptions;
}

const job = workerData as Job;
const ANN_MIN_ITEMS = 5000;
const { tf, backend } = await loadTf();
const started = performance.now();
const w: Weights = await train(tf, job.items, histories(job.interactions), job.options, (p) => parentPort?.postMessage({ t: "epoch", ...p, backend }));
const trainMs = performance.now() - started;
// Large catalogs are served through an inverted-file index (ann.ts), built here, off the loop.
const index: ItemIndex | undefined = w.items > ANN_MIN_ITEMS ? buildIndex(w) : undefined;
const transfer = [w.w.buffer, w.v.buffer, w.bias.buffer, ...(index ? [index.centroids.buffer, ...index.members.map((m) => m.buffer)] : [])] as ArrayBuffer[];
parentPort?.postMessage({ t: "done", weights: w, index, backend, ms: trainMs }, transfer);

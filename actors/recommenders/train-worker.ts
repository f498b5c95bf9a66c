/**
 * Training off the event loop: a worker thread gets the histories, trains with TensorFlow.js
 * and hands the weights back (transferred, not copied). The node keeps serving meanwhile.
 */
import { parentPort, workerData } from "node:worker_threads";
import { histories, train, type ModelOptions, type Weights } from "./model.js";
import { loadTf } from "./tf.js";
import type { Interaction } from "./dataset.js";

interface Job {
  items: number;
  interactions: Interaction[];
  options: ModelOptions;
}

const job = workerData as Job;
const { tf, backend } = await loadTf();
const started = performance.now();
const w: Weights = await train(tf, job.items, histories(job.interactions), job.options, (p) => parentPort?.postMessage({ t: "epoch", ...p, backend }));
parentPort?.postMessage({ t: "done", weights: w, backend, ms: performance.now() - started }, [w.w.buffer, w.v.buffer, w.bias.buffer] as ArrayBuffer[]);

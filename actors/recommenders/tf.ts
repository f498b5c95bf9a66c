/**
 * TensorFlow.js with the fastest backend this machine has: tfjs-node when it is installed
 * (native libtensorflow; it is not a dependency because its install downloads a binary from
 * outside the npm registry), else wasm (SIMD), else the plain JS cpu backend. Says which.
 */
import path from "node:path";
import { createRequire } from "node:module";

export type Tf = typeof import("@tensorflow/tfjs");

let loaded: Promise<{ tf: Tf; backend: string }> | undefined;

export function loadTf(log: (msg: string) => void = () => undefined): Promise<{ tf: Tf; backend: string }> {
  loaded ??= pick(log);
  return loaded;
}

async function pick(log: (msg: string) => void): Promise<{ tf: Tf; backend: string }> {
  try {
    const name = "@tensorflow/tfjs-node"; // optional: only if the operator installed it
    const tf = (await import(name)) as Tf;
    await tf.ready();
    log("recommenders: TensorFlow.js backend tensorflow (tfjs-node)");
    return { tf, backend: "tensorflow" };
  } catch {
    // not installed here: try wasm
  }
  const tf = await import("@tensorflow/tfjs");
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    const dist = path.dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
    wasm.setWasmPaths(`${dist}/`);
    if (await tf.setBackend("wasm")) {
      log("recommenders: TensorFlow.js backend wasm");
      return { tf, backend: "wasm" };
    }
  } catch (err) {
    log(`recommenders: wasm backend unavailable (${String(err)})`);
  }
  await tf.setBackend("cpu");
  log("recommenders: TensorFlow.js backend cpu (slowest)");
  return { tf, backend: "cpu" };
}

// Gives this machine a working mediasoup-worker for the mediasoup version in package-lock.json.
// Plain Node (no dependencies): bootstrap.mjs calls it around `npm ci`.
//
// Order of preference:
//   1. MEDIASOUP_WORKER_BIN set by the user: used as it is (mediasoup honours it at runtime).
//   2. A worker cached for this mediasoup version + OS release + arch (+ build recipe).
//   3. mediasoup's own prebuilt download (its postinstall, with its pip fallback disabled);
//      works on a machine that reaches mediasoup's release host.
//   4. A build from the npm tarball's own sources with Debian packages
//      (scripts/mediasoup-worker/build-from-source.sh, ~4-5 min on 2 cores).
// The result is cached and copied to node_modules/mediasoup/worker/out/Release/mediasoup-worker,
// where mediasoup looks for it. Nothing is fetched except from the npm registry and apt
// (and mediasoup's own prebuilt host, through mediasoup's own script).
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";

const BUILD_APT = ["g++", "pkg-config", "meson", "ninja-build", "libssl-dev", "libuv1-dev", "libsrtp2-dev",
  "libusrsctp-dev", "libabsl-dev", "libflatbuffers-dev", "flatbuffers-compiler", "liburing-dev"];

/** mediasoup version pinned in package-lock.json, or undefined when mediasoup is not a dependency. */
export function mediasoupVersion(root) {
  const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8"));
  return lock.packages?.["node_modules/mediasoup"]?.version;
}

function osRelease() {
  try {
    const text = readFileSync("/etc/os-release", "utf8");
    const field = (k) => new RegExp(`^${k}="?([^"\\n]*)"?`, "m").exec(text)?.[1] ?? "unknown";
    return `${field("ID")}${field("VERSION_ID")}`;
  } catch {
    return os.release();
  }
}

function recipeHash(root) {
  const hash = createHash("sha256");
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else hash.update(p.slice(root.length)).update(readFileSync(p));
    }
  };
  walk(path.join(root, "scripts", "mediasoup-worker"));
  return hash.digest("hex").slice(0, 10);
}

/** Where the worker for this machine is cached. */
export function cachedWorkerPath(root, version) {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  const key = `${version}-${osRelease()}-${process.arch}-${recipeHash(root)}`;
  return path.join(base, "echostreamhub", "mediasoup-worker", key, "mediasoup-worker");
}

export const installedWorkerPath = (root) =>
  path.join(root, "node_modules", "mediasoup", "worker", "out", "Release", "mediasoup-worker");

/** A worker runs here if, started without MEDIASOUP_VERSION, it exits with 41 (its main.cpp). */
export function workerRuns(bin) {
  if (!existsSync(bin)) return false;
  const env = { ...process.env };
  delete env.MEDIASOUP_VERSION;
  const r = spawnSync(bin, [], { env, stdio: "ignore", timeout: 10_000 });
  return r.status === 41;
}

/** Environment for `npm ci`: mediasoup's postinstall is skipped; this module provides the worker after. */
export function npmEnv(root) {
  const version = mediasoupVersion(root);
  if (!version || process.env.MEDIASOUP_WORKER_BIN) return process.env;
  return { ...process.env, MEDIASOUP_WORKER_BIN: cachedWorkerPath(root, version) };
}

function tryPrebuilt(root, say) {
  const pkgDir = path.join(root, "node_modules", "mediasoup");
  say("mediasoup-worker: trying mediasoup's prebuilt download");
  const env = { ...process.env, PYTHON: "false" }; // no pip/meson fallback: our own build follows
  delete env.MEDIASOUP_WORKER_BIN;
  const r = spawnSync(process.execPath, ["npm-scripts.mjs", "postinstall"], { cwd: pkgDir, env, stdio: "ignore", timeout: 120_000 });
  const ok = r.status === 0 && workerRuns(installedWorkerPath(root));
  say(ok ? "mediasoup-worker: prebuilt binary downloaded and checked" : "mediasoup-worker: no usable prebuilt binary (offline or unsupported host)");
  return ok;
}

function ensureBuildPackages(say, exit) {
  const missing = BUILD_APT.filter((p) => spawnSync("dpkg", ["-s", p], { stdio: "ignore" }).status !== 0);
  if (missing.length === 0) return;
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) exit(`mediasoup-worker: building it needs Debian packages. Run as root:\n    sudo sh -c '${cmd}'\nthen run npm again (or set MEDIASOUP_WORKER_BIN to a worker you have).`);
  say(`mediasoup-worker: installing build packages with apt-get: ${missing.join(" ")}`);
  execFileSync("sh", ["-c", cmd], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

function buildFromSource(root, version, out, say, exit) {
  ensureBuildPackages(say, exit);
  const tmp = path.join(os.tmpdir(), `esh-mediasoup-tgz-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  say(`mediasoup-worker: fetching mediasoup@${version} sources from the npm registry`);
  execFileSync("npm", ["pack", `mediasoup@${version}`, "--silent"], { cwd: tmp, stdio: ["ignore", "ignore", "inherit"] });
  say("mediasoup-worker: building from source with Debian libraries (takes ~4-5 min on 2 cores; progress below)");
  const t0 = Date.now();
  const r = spawnSync("bash", [path.join(root, "scripts", "mediasoup-worker", "build-from-source.sh"), path.join(tmp, `mediasoup-${version}.tgz`), out], { stdio: "inherit" });
  if (r.status !== 0 || !workerRuns(out)) exit("mediasoup-worker: source build failed; see above");
  say(`mediasoup-worker: built in ${Math.round((Date.now() - t0) / 1000)} s, cached at ${out}`);
}

function install(from, to) {
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(from, `${to}.tmp`);
  renameSync(`${to}.tmp`, to);
}

/** After `npm ci`: make sure node_modules/mediasoup has a worker that runs on this machine. */
export function ensureMediasoupWorker(root, say, exit) {
  const version = mediasoupVersion(root);
  if (!version) return;
  if (process.env.MEDIASOUP_WORKER_BIN) {
    if (!workerRuns(process.env.MEDIASOUP_WORKER_BIN)) exit(`mediasoup-worker: MEDIASOUP_WORKER_BIN=${process.env.MEDIASOUP_WORKER_BIN} does not run here`);
    return say("mediasoup-worker: using MEDIASOUP_WORKER_BIN");
  }
  const cached = cachedWorkerPath(root, version);
  const installed = installedWorkerPath(root);
  if (workerRuns(installed)) return say(`mediasoup-worker ${version}: ready`);
  if (!workerRuns(cached)) {
    if (tryPrebuilt(root, say)) install(installed, cached);
    else buildFromSource(root, version, cached, say, exit);
  }
  install(cached, installed);
  say(`mediasoup-worker ${version}: ready (from ${path.dirname(cached)})`);
}

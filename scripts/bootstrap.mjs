#!/usr/bin/env node
// Makes a fresh machine ready for `npm start` / `npm test`, idempotently, saying what it does.
// Plain Node (no dependencies): it runs before node_modules exists.
//   1. Node 20 (uWebSockets.js ships native binaries up to ABI 115).
//   2. npm packages: `npm ci` when node_modules is missing or older than package-lock.json.
//   3. mediasoup-worker: cached, mediasoup's prebuilt, or built from source (scripts/mediasoup-worker.mjs).
//   4. Debian/Ubuntu packages the mode needs (nats-server for tests): installed with apt-get
//      when running as root, otherwise the exact command to run is printed and we stop.
// Nothing is downloaded from anywhere but the npm registry and the distribution's apt.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureMediasoupWorker, npmEnv } from "./mediasoup-worker.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const mode = process.argv[2] ?? "start";
const say = (msg) => console.log(`[bootstrap] ${msg}`);

/** Commands each mode needs, and the apt package that provides each. */
const APT_NEEDS = {
  start: [
    { command: "ffmpeg", pkg: "ffmpeg" },
    { command: "ffprobe", pkg: "ffmpeg" },
  ],
  test: [
    { command: "ffmpeg", pkg: "ffmpeg" },
    { command: "ffprobe", pkg: "ffmpeg" },
    { command: "nats-server", pkg: "nats-server" },
    { command: "chromium", pkg: "chromium" },
    { command: "promtool", pkg: "prometheus" },
    // `docker-compose config` validates deploy/docker-compose.yml without a Docker engine.
    { command: "docker-compose", pkg: "docker-compose" },
    // Debian 12 packages ClickHouse 18.16; Debian 13 none: then its tests say they skipped.
    { command: "clickhouse-server", pkg: "clickhouse-server", optional: true },
    // Emoji in the web app's screenshots (reactions); without it Chromium draws empty boxes.
    { file: "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf", pkg: "fonts-noto-color-emoji", optional: true, without: "screenshots show emoji as boxes" },
  ],
};

/** The web app (web/app, Vite): built into web/app/dist when missing or older than its sources
 *  (its own and protocol/, which it imports). */
function ensureWebApp() {
  const appDir = path.join(root, "web", "app");
  if (!existsSync(appDir)) return;
  const newest = (p) => (statSync(p).isDirectory() ? Math.max(0, ...readdirSync(p).map((n) => newest(path.join(p, n)))) : statSync(p).mtimeMs);
  const built = path.join(appDir, "dist", "index.html");
  // protocol/ too: the app imports the wire's declarations from there (close codes, errors, rooms).
  const sources = [...["src", "index.html", "vite.config.ts"].map((n) => path.join(appDir, n)), path.join(root, "protocol")].filter((p) => existsSync(p));
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest))) return say("web app: up to date");
  say("web app: building web/app with Vite");
  const r = spawnSync("npm", ["run", "--silent", "build:web"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    say("web app: the build failed (see above)");
    process.exit(1);
  }
}

function checkNode() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major !== 20) {
    say(`warning: Node ${process.versions.node}; Echostreamhub targets Node 20 (uWebSockets.js native binary, mediasoup 3.19).`);
  }
}

function ensureNpmPackages() {
  const lock = path.join(root, "package-lock.json");
  const marker = path.join(root, "node_modules", ".package-lock.json");
  const fresh = existsSync(marker) && (!existsSync(lock) || statSync(marker).mtimeMs >= statSync(lock).mtimeMs);
  if (fresh) return say("npm packages: up to date");
  const args = existsSync(lock) ? ["ci", "--no-audit", "--no-fund"] : ["install", "--no-audit", "--no-fund"];
  say(`npm packages: running npm ${args.join(" ")}`);
  const r = spawnSync("npm", args, { cwd: root, stdio: "inherit", env: npmEnv(root) });
  if (r.status !== 0) {
    say("npm failed; see above");
    process.exit(r.status ?? 1);
  }
}

const has = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0 || existsSync(`/usr/sbin/${cmd}`);
/** A need is met by a command on the PATH, or by a file (fonts). */
const present = (n) => (n.file ? existsSync(n.file) : has(n.command));

/** Installs an optional package when the distribution has it; says so loudly when it has not. */
function ensureOptional(needs) {
  for (const n of needs) {
    if (present(n)) continue;
    const without = n.without ?? "the tests that need it will be SKIPPED";
    const show = () => spawnSync("sh", ["-c", `apt-cache show ${n.pkg} >/dev/null 2>&1`]).status === 0;
    let known = show();
    if (!known && process.getuid?.() === 0 && has("apt-get")) {
      spawnSync("sh", ["-c", "apt-get update"], { stdio: "inherit" });
      known = show();
    }
    if (!known || process.getuid?.() !== 0) {
      say(`optional ${n.pkg}: ${known ? "not installed (run as root to install it)" : "not packaged by this distribution"}; ${without}`);
      continue;
    }
    say(`system packages: installing optional ${n.pkg} with apt-get`);
    const r = spawnSync("sh", ["-c", `apt-get install -y --no-install-recommends ${n.pkg}`], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) say(`optional ${n.pkg}: install failed; ${without}`);
  }
}

function ensureAptPackages() {
  const required = (APT_NEEDS[mode] ?? []).filter((n) => !n.optional);
  const missing = required.filter((n) => !has(n.command));
  const needed = required.map((n) => n.command);
  if (missing.length === 0) return say(needed.length ? `system packages: ${needed.join(", ")} present` : "system packages: none needed");
  const pkgs = [...new Set(missing.map((n) => n.pkg))];
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(" ")}`;
  if (process.getuid?.() !== 0 || !has("apt-get")) {
    say(`missing ${missing.map((n) => n.command).join(", ")}. Run as root:\n    sudo sh -c '${cmd}'\nthen run npm ${mode} again.`);
    process.exit(1);
  }
  say(`system packages: installing ${pkgs.join(" ")} with apt-get`);
  execFileSync("sh", ["-c", cmd], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

/**
 * The SRT listener helper (media/srt-gate/srt-gate.c, on libsrt from apt): built into
 * node_modules/.cache when missing or older than its source. Without it SRT ingest is off (the
 * media node says so); nothing else depends on it.
 */
function ensureSrtGate() {
  const src = path.join(root, "media", "srt-gate", "srt-gate.c");
  const out = path.join(root, "node_modules", ".cache", "srt-gate", "srt-gate");
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return say("srt-gate: up to date");
  if (!existsSync("/usr/include/srt/srt.h")) {
    if (process.getuid?.() !== 0 || !has("apt-get")) return say("srt-gate: libsrt headers missing (apt-get install libsrt-openssl-dev): SRT ingest stays off");
    say("srt-gate: installing libsrt-openssl-dev with apt-get");
    const r = spawnSync("sh", ["-c", "apt-get install -y --no-install-recommends libsrt-openssl-dev || (apt-get update && apt-get install -y --no-install-recommends libsrt-openssl-dev)"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) return say("srt-gate: libsrt-openssl-dev could not be installed: SRT ingest stays off");
  }
  mkdirSync(path.dirname(out), { recursive: true });
  const r = spawnSync("sh", ["-c", `cc -O2 -Wall -o '${out}' '${src}' -lsrt -lpthread`], { stdio: "inherit" });
  say(r.status === 0 ? "srt-gate: built" : "srt-gate: build failed: SRT ingest stays off");
}

checkNode();
ensureNpmPackages();
ensureMediasoupWorker(root, say, (msg) => {
  say(msg);
  process.exit(1);
});
ensureAptPackages();
ensureOptional((APT_NEEDS[mode] ?? []).filter((n) => n.optional));
if (mode !== "image") ensureSrtGate();
if (mode !== "image") ensureWebApp();
say(`ready for npm ${mode}`);

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
import { existsSync, statSync } from "node:fs";
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
  ],
};

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

function ensureAptPackages() {
  const missing = (APT_NEEDS[mode] ?? []).filter((n) => !has(n.command));
  const needed = (APT_NEEDS[mode] ?? []).map((n) => n.command);
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

checkNode();
ensureNpmPackages();
ensureMediasoupWorker(root, say, (msg) => {
  say(msg);
  process.exit(1);
});
ensureAptPackages();
say(`ready for npm ${mode}`);

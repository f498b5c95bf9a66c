#!/usr/bin/env node
// `npm test`: type-check, lint, no import cycles (dpdm), then every *.test.ts with node's test runner (through tsx):
// the unit tests beside the code two files at a time, then the end-to-end suites in test/ one
// at a time (they start real servers and 2 cores are shared).
// Extra arguments are test files or folders to run instead of all of them.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Every source file of the project, for the import cycle check (type imports included). */
const SOURCES = ["main.ts", "moleculer.config.ts", ...["actors", "gateway", "media", "analytics", "lib", "store", "blobs", "protocol", "bench", "scripts", "tools", "test"].map((d) => `${d}/**/*.ts`), "web/app/src/**/*.ts", "web/app/src/**/*.tsx"];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SKIP = new Set(["node_modules", ".git", "data", ".data", ".scratch", "web"]);

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith(".test.ts")) out.push(path.relative(root, p));
  }
  return out.sort();
}

function step(label, cmd, args) {
  console.log(`\n[test] ${label}: ${cmd} ${args.join(" ")}`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  console.log(`[test] ${label}: ${r.status === 0 ? "ok" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return r.status === 0;
}

const only = process.argv.slice(2);
const files = only.length ? only.flatMap((p) => (statSync(p).isDirectory() ? findTests(path.resolve(p)) : [p])) : findTests(root);
const bin = (name) => path.join(root, "node_modules", ".bin", name);

let ok = true;
if (!only.length) {
  ok = step("typecheck", bin("tsc"), ["--noEmit", "-p", "."]) && ok;
  ok = step("typecheck web app", bin("tsc"), ["--noEmit", "-p", "web/app"]) && ok;
  ok = step("lint", bin("eslint"), ["."]) && ok;
  ok = step("no import cycles", bin("dpdm"), ["--no-tree", "--no-warning", "--circular", "--exit-code", "circular:1", "--progress", "false", ...SOURCES]) && ok;
}
// Unit tests beside the code run two files at a time (small, each with at most one real
// component); end-to-end suites start whole platforms and run one at a time.
const unit = files.filter((f) => !f.startsWith("test/") && !f.startsWith(`test${path.sep}`));
const e2e = files.filter((f) => !unit.includes(f));
const run = (label, list, concurrency) => list.length === 0 || step(`${label} (${list.length} files)`, process.execPath, ["--import", "tsx", "--test", `--test-concurrency=${concurrency}`, "--test-reporter=spec", ...list]);
ok = run("unit tests", unit, 2) && ok;
ok = run("end-to-end tests", e2e, 1) && ok;
console.log(ok ? "\n[test] all passed" : "\n[test] FAILED");
process.exit(ok ? 0 : 1);

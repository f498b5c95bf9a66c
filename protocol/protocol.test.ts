/**
 * The protocol folder holds only the wire's types, constants and schemas: it imports nothing
 * but itself (the app, the gateway and the actors all import it; it must never pull in an
 * implementation or a Node-only module), and what the wire spells out is declared here only.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ERROR_CODES } from "./errors.js";
import { ID_SCHEMA, isId } from "./ids.js";
import { QUALITIES } from "./media.js";
import { REACTIONS } from "./rooms.js";

const dir = path.dirname(fileURLToPath(import.meta.url));
const sources = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

describe("protocol/", () => {
  it("imports nothing outside itself", () => {
    for (const f of sources) {
      const text = readFileSync(path.join(dir, f), "utf8");
      // from "x", import "x", import("x"), require("x"), either quote.
      const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)(["'])([^"']+)\1/g)].map((m) => m[2] ?? "");
      for (const s of specifiers) assert.match(s, /^\.\/[a-z-]+\.js$/, `${f} imports ${s}`);
    }
  });

  it("ids: the schema and isId agree", () => {
    for (const ok of ["a", "A-z_09", "x".repeat(64)]) assert.ok(isId(ok) && ID_SCHEMA.pattern.test(ok), ok);
    for (const bad of ["", "x".repeat(65), "a.b", "a/b", "..", "a b", "é", "%2e"]) assert.ok(!isId(bad), bad);
  });

  it("the wire's lists are what docs/protocol.md says", () => {
    const doc = readFileSync(path.join(dir, "..", "docs", "protocol.md"), "utf8");
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      // | `CODE` | status | yes/no | meaning |
      assert.match(doc, new RegExp(`^\\| \`${code}\` \\| ${String(spec.status)} \\| ${spec.retryable ? "yes" : "no"} \\|`, "m"), `error code ${code}: status and retry as documented`);
    }
    const qualityRow = doc.split("\n").find((l) => l.startsWith("| `media.quality`")) ?? "";
    assert.deepEqual([...qualityRow.matchAll(/\\?"(\w+)\\?"/g)].map((m) => m[1]), [...QUALITIES], "media.quality lists exactly the qualities");
    for (const r of REACTIONS) assert.ok(doc.includes(r), `reaction ${r} documented`);
  });
});

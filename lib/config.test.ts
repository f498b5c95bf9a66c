import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, DEFAULTS, loadConfig, settingsTable } from "./config.js";
import { configurationDoc } from "./config-doc.js";
import { readFileSync } from "node:fs";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

describe("config layers", () => {
  it("defaults: embedded, sqlite, every actor, port 8080", () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.store, "sqlite");
    assert.deepEqual(c.services, ["gateway", "sessions", "streams", "rooms", "media", "encoders", "analytics", "recommenders"]);
    assert.equal(DEFAULTS.store, "", "defaults are not mutated");
  });

  it("env overrides defaults, aliases and ESH_ names both work, NATS_URL selects jetstream", () => {
    const c = loadConfig({ PORT: "9000", NATS_URL: "nats://127.0.0.1:4222", SERVICES: "gateway, rooms", ESH_GATEWAY_MAX_FRAME_BYTES: "4096", ESH_GATEWAY_TRUST_PROXY: "yes" });
    assert.equal(c.port, 9000);
    assert.equal(c.store, "jetstream");
    assert.deepEqual(c.services, ["gateway", "rooms"]);
    assert.equal(c.gateway.maxFrameBytes, 4096);
    assert.equal(c.gateway.trustProxy, true);
  });

  it("a file layer sits between defaults and env", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "esh-cfg-"));
    const file = path.join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ port: 7000, gateway: { wsBurst: 7 }, auth: { accessTtlSec: 60 } }));
    const c = loadConfig({ CONFIG_FILE: file, PORT: "7001" });
    assert.equal(c.port, 7001);
    assert.equal(c.gateway.wsBurst, 7);
    assert.equal(c.auth.accessTtlSec, 60);
    writeFileSync(file, JSON.stringify({ gateway: { wsBrust: 7 } }));
    assert.throws(() => loadConfig({ CONFIG_FILE: file }), /unknown key "gateway.wsBrust"/);
  });

  it("rejects unknown ESH_ variables, bad values and inconsistent combinations", () => {
    assert.throws(() => loadConfig({ ESH_GATEWAY_MAX_FRAMES: "1" }), ConfigError);
    assert.throws(() => loadConfig({ PORT: "eighty" }), /PORT.*integer/);
    assert.throws(() => loadConfig({ PORT: "70000" }), /0\.\.65535/);
    assert.throws(() => loadConfig({ SERVICES: "gateway,telepathy" }), /telepathy/);
    assert.throws(() => loadConfig({ LOG_LEVEL: "loud" }), ConfigError);
    assert.throws(() => loadConfig({ ESH_STORE: "jetstream" }), /NATS_URL/);
    assert.throws(() => loadConfig({ ESH_AUTH_SCRYPT_COST: "3000" }), /power of two/);
    assert.throws(() => loadConfig({ ADMIN_USER: "root" }), /go together/);
  });

  it("every setting is declared once, with a doc, and its default passes its own validation", () => {
    const table = settingsTable();
    assert.equal(new Set(table.map((x) => x.env)).size, table.length);
    for (const x of table) {
      assert.ok(x.spec.doc.length > 10, `${x.path} has a doc`);
      const raw = Array.isArray(x.spec.default) ? x.spec.default.join(",") : String(x.spec.default);
      if (raw !== "") assert.doesNotThrow(() => loadConfig({ [x.env]: raw }), x.path);
    }
  });

  it("docs/configuration.md is what the settings table says (npm run docs:config rewrites it)", () => {
    assert.equal(readFileSync(new URL("../docs/configuration.md", import.meta.url), "utf8"), configurationDoc(), "stale: run npm run docs:config");
  });
});

/**
 * Deployment artefacts, checked offline with the real tools: the /metrics output of a running
 * node passes `promtool check metrics`, and the alert rules pass `promtool check rules`
 * (promtool from Debian's prometheus package, installed by npm test).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { PlatformNode } from "./harness/node.js";

describe("deploy: metrics and alert rules", () => {
  let node: PlatformNode;

  before(async () => {
    node = await PlatformNode.start();
  });

  after(async () => {
    await node.stop();
  });

  it("/metrics passes promtool check metrics", async () => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    assert.match(text, /# TYPE esh_analytics_store_up gauge/);
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  });

  it("the Prometheus alert rules pass promtool check rules", () => {
    const r = spawnSync("promtool", ["check", "rules", "deploy/prometheus/alerts.yml"], { encoding: "utf8" });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /SUCCESS: 6 rules found/);
  });
});

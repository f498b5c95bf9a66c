/**
 * Deployment artefacts, checked offline with the real tools: the /metrics output of a running
 * node passes `promtool check metrics`, and the alert rules pass `promtool check rules`
 * (promtool from Debian's prometheus package, installed by npm test), and the Kubernetes
 * manifests validate against the Kubernetes schemas (kubernetes-models).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ConfigMap, PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
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

  it("the Kubernetes manifests validate against the schemas and hang together", () => {
    const MODELS: Record<string, new (o: never) => { validate(): void }> = {
      "v1/ConfigMap": ConfigMap,
      "v1/Service": Service,
      "v1/PersistentVolumeClaim": PersistentVolumeClaim,
      "apps/v1/Deployment": Deployment,
      "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
      "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
    };
    type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown> };
    const docs = parseAllDocuments(readFileSync("deploy/k8s/echostreamhub.yaml", "utf8")).map((d) => d.toJS() as Doc);
    for (const d of docs) {
      const Model = MODELS[`${d.apiVersion}/${d.kind}`];
      assert.ok(Model, `no schema for ${d.apiVersion}/${d.kind}`);
      assert.doesNotThrow(() => new Model(d as never).validate(), `${d.kind} ${d.metadata.name}`);
    }
    type Dep = Doc & { spec: { selector: { matchLabels: Record<string, string> }; template: { spec: { terminationGracePeriodSeconds?: number; containers: { env?: { name: string; value?: string }[]; readinessProbe?: unknown; livenessProbe?: unknown }[] } } } };
    const deployments = docs.filter((d): d is Dep => d.kind === "Deployment");
    const roles = deployments.map((d) => d.spec.template.spec.containers[0]?.env?.find((e) => e.name === "SERVICES")?.value ?? "");
    assert.deepEqual(roles.join(",").split(",").sort(), ["analytics", "encoders", "gateway", "media", "recommenders", "rooms", "sessions", "streams"], "every actor runs somewhere, once");
    for (const d of deployments) assert.ok((d.spec.template.spec.terminationGracePeriodSeconds ?? 0) >= 30, `${d.metadata.name}: time to drain`);
    const gateway = deployments.find((d) => d.metadata.name === "esh-gateway");
    assert.ok(gateway?.spec.template.spec.containers[0]?.readinessProbe && gateway.spec.template.spec.containers[0].livenessProbe, "gateway probes");
    const matches = (sel: Record<string, string>) => deployments.some((d) => Object.entries(sel).every(([k, v]) => d.spec.selector.matchLabels[k] === v));
    for (const d of docs.filter((x) => x.kind === "PodDisruptionBudget")) assert.ok(matches((d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels), `PDB ${d.metadata.name} selects a Deployment`);
    for (const d of docs.filter((x) => x.kind === "HorizontalPodAutoscaler")) assert.ok(deployments.some((x) => x.metadata.name === (d.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name));
    const media = docs.find((d) => d.kind === "Service" && d.metadata.name === "esh-media") as { spec: { ports: { protocol: string }[] } } | undefined;
    assert.ok(media?.spec.ports.some((p) => p.protocol === "UDP"), "media is reachable over UDP");
  });
});

/**
 * Deployment artefacts, checked offline with the real tools: the /metrics output of a running
 * node passes `promtool check metrics`, the alert rules `promtool check rules` and the
 * Prometheus config `promtool check config` (promtool from Debian's prometheus package), every
 * Grafana query parses as PromQL and reads metrics our nodes export, the compose file passes
 * `docker-compose config` (Debian's docker-compose, no engine needed), and the Kubernetes
 * manifests validate against the Kubernetes schemas (kubernetes-models).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DASHBOARDS, dashboardFile, dashboardText } from "../deploy/grafana/dashboards.js";
import { parseAllDocuments } from "yaml";
import { ConfigMap, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { after, before, describe, it } from "node:test";
import { metricsText, PlatformNode } from "../tools/harness/node.js";

describe("deploy: metrics and alert rules", () => {
  let node: PlatformNode;
  let exported = "";

  before(async () => {
    node = await PlatformNode.start();
    // Wait for the gauges sampled on timers (media, encoders, QoE) to be registered and set.
    await new Promise((r) => setTimeout(r, 1000));
    exported = await metricsText(node.url);
  });

  after(async () => {
    await node.stop();
  });

  it("/metrics passes promtool check metrics", async () => {
    const text = await metricsText(node.url);
    assert.match(text, /# TYPE esh_analytics_store_up gauge/);
    const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
  });

  it("the Prometheus alert rules pass promtool check rules", () => {
    const r = spawnSync("promtool", ["check", "rules", "deploy/prometheus/alerts.yml"], { encoding: "utf8" });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /SUCCESS: 6 rules found/);
  });

  it("the Grafana dashboards are current, parse as PromQL and read only metrics our nodes export", () => {
    const names = new Set([...exported.matchAll(/^# TYPE (\S+) (\w+)/gm)].flatMap((m) => (m[2] === "histogram" ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1] ?? ""])));
    const rules: string[] = [];
    for (const d of DASHBOARDS) {
      assert.equal(readFileSync(dashboardFile(d), "utf8"), dashboardText(d), `${dashboardFile(d)} is stale: npx tsx deploy/grafana/dashboards.ts`);
      for (const p of d.panels) {
        for (const t of p.targets) {
          rules.push(`      - record: esh:panel:${rules.length}\n        expr: ${JSON.stringify(t.expr)}`);
          for (const m of t.expr.matchAll(/\b((?:esh|moleculer|os|process)_[a-z0-9_]+)/g)) assert.ok(names.has(m[1] ?? ""), `${d.uid} / ${p.title}: ${m[1]} is not exported`);
        }
      }
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), "esh-grafana-"));
    try {
      writeFileSync(path.join(dir, "panels.yml"), `groups:\n  - name: panels\n    rules:\n${rules.join("\n")}\n`);
      const r = spawnSync("promtool", ["check", "rules", path.join(dir, "panels.yml")], { encoding: "utf8" });
      assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the Prometheus config passes promtool check config and scrapes every compose node", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "esh-prom-"));
    try {
      copyFileSync("deploy/prometheus/alerts.yml", path.join(dir, "alerts.yml"));
      writeFileSync(path.join(dir, "prometheus.yml"), readFileSync("deploy/prometheus/prometheus.yml", "utf8").replace("/etc/prometheus/alerts.yml", "alerts.yml"));
      const r = spawnSync("promtool", ["check", "config", path.join(dir, "prometheus.yml")], { encoding: "utf8" });
      assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("docker-compose config accepts the cluster: 3 NATS with JetStream, ClickHouse, 2 gateways, media, encoder, analytics, Prometheus, Grafana", () => {
    const env = { ...process.env, ADMIN_PASSWORD: "compose-check", GRAFANA_PASSWORD: "compose-check" };
    const r = spawnSync("docker-compose", ["-f", "deploy/docker-compose.yml", "config"], { encoding: "utf8", env });
    assert.equal(r.status, 0, `docker-compose: ${r.stderr}`);
    type Svc = { command?: string[]; environment?: Record<string, string | undefined>; ports?: unknown[]; volumes?: unknown[] };
    const cfg = parseAllDocuments(r.stdout)[0]?.toJS() as { services: Record<string, Svc> };
    const svcs = cfg.services;
    assert.deepEqual(Object.keys(svcs).sort(), ["analytics", "clickhouse", "encoder", "gateway-1", "gateway-2", "grafana", "media", "nats-1", "nats-2", "nats-3", "prometheus"]);
    for (const n of ["nats-1", "nats-2", "nats-3"]) {
      const c = svcs[n]?.command ?? [];
      assert.ok(c.includes("-js") && c.includes("--routes"), `${n}: JetStream in a cluster`);
    }
    const roles = Object.values(svcs).map((s) => s.environment?.SERVICES).filter(Boolean).join(",").split(",");
    for (const a of ["gateway", "sessions", "streams", "rooms", "media", "encoders", "analytics", "recommenders"]) assert.ok(roles.includes(a), `${a} runs somewhere`);
    for (const s of Object.values(svcs).filter((x) => x.environment?.SERVICES)) {
      assert.equal(s.environment?.ESH_STORE_REPLICAS, "3", "R3 KV and streams");
      assert.match(s.environment.NATS_URL ?? "", /nats-1.*nats-2.*nats-3/);
    }
    // Prometheus scrapes each Echostreamhub node on its ops port, gateways included (their public
    // port shows /metrics only to a scrape token).
    const prom = readFileSync("deploy/prometheus/prometheus.yml", "utf8");
    for (const [name, s] of Object.entries(svcs).filter(([, x]) => x.environment?.SERVICES)) {
      const port = s.environment?.OPS_PORT;
      assert.ok(prom.includes(`${name}:${port ?? "?"}`), `prometheus scrapes ${name}:${port ?? "?"}`);
    }
    // Without the admin password, the file refuses to render rather than start an open cluster.
    const bare = spawnSync("docker-compose", ["-f", "deploy/docker-compose.yml", "config", "-q"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
    assert.notEqual(bare.status, 0);
    assert.match(bare.stderr, /ADMIN_PASSWORD/);
  });

  it("the Dockerfile is multi-stage and runs non-root with a health check", () => {
    const df = readFileSync("deploy/Dockerfile", "utf8");
    const stages = [...df.matchAll(/^FROM \S+ AS (\w+)/gm)].map((m) => m[1]);
    assert.deepEqual(stages, ["build", "runtime"]);
    const runtime = df.slice(df.indexOf("AS runtime"));
    assert.match(runtime, /^USER 10001/m);
    assert.match(runtime, /^HEALTHCHECK /m);
    assert.doesNotMatch(runtime, /g\+\+|meson|-dev\b/, "no build tools in the runtime stage");
    assert.match(df, /npm prune --omit=dev/);
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { dependencies: Record<string, string> };
    assert.ok(pkg.dependencies.tsx, "the runtime command (node --import tsx) needs tsx among production dependencies");
  });

  it("the Kubernetes manifests validate against the schemas and hang together", () => {
    const MODELS: Record<string, new (o: never) => { validate(): void }> = {
      "v1/ConfigMap": ConfigMap,
      "v1/Service": Service,
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
    for (const d of deployments) {
      const c = d.spec.template.spec.containers[0];
      assert.ok(c?.readinessProbe && c.livenessProbe, `${d.metadata.name}: readiness and liveness probes`);
    }
    const matches = (sel: Record<string, string>) => deployments.some((d) => Object.entries(sel).every(([k, v]) => d.spec.selector.matchLabels[k] === v));
    for (const d of docs.filter((x) => x.kind === "PodDisruptionBudget")) assert.ok(matches((d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels), `PDB ${d.metadata.name} selects a Deployment`);
    for (const d of docs.filter((x) => x.kind === "HorizontalPodAutoscaler")) assert.ok(deployments.some((x) => x.metadata.name === (d.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name));
    const media = docs.find((d) => d.kind === "Service" && d.metadata.name === "esh-media") as { spec: { ports: { protocol: string }[] } } | undefined;
    assert.ok(media?.spec.ports.some((p) => p.protocol === "UDP"), "media is reachable over UDP");
    // No pod needs a shared disk: media objects are in the NATS object store.
    assert.ok(!docs.some((d) => d.kind === "PersistentVolumeClaim"), "no volume claim");
    for (const d of deployments) {
      const vols = (d.spec.template.spec as { volumes?: { emptyDir?: unknown }[] }).volumes ?? [];
      assert.ok(vols.every((v) => v.emptyDir !== undefined), `${d.metadata.name}: scratch volumes only`);
    }
    assert.equal((docs.find((d) => d.kind === "ConfigMap") as unknown as { data: Record<string, string> }).data.ESH_BLOBS_REPLICAS, "3");
  });

  it("the HPA's custom metric is served by the shipped prometheus-adapter rules, from a gauge the gateway exports", () => {
    const hpa = parseAllDocuments(readFileSync("deploy/k8s/echostreamhub.yaml", "utf8")).map((d) => d.toJS() as { kind: string; spec?: { metrics?: { type: string; pods?: { metric: { name: string } } }[] } }).find((d) => d.kind === "HorizontalPodAutoscaler");
    const wanted = hpa?.spec?.metrics?.filter((m) => m.type === "Pods").map((m) => m.pods?.metric.name ?? "") ?? [];
    assert.deepEqual(wanted, ["esh_gateway_ws_connections"]);
    const [cm] = parseAllDocuments(readFileSync("deploy/k8s/prometheus-adapter.yaml", "utf8")).map((d) => d.toJS() as { apiVersion: string; kind: string; data: Record<string, string> });
    assert.ok(cm);
    assert.doesNotThrow(() => new ConfigMap(cm).validate());
    type Rule = { seriesQuery: string; name: { matches: string; as: string }; metricsQuery: string; resources: { overrides: Record<string, { resource: string }> } };
    const rules = (parseAllDocuments(cm.data["config.yaml"] ?? "")[0]?.toJS() as { rules: Rule[] }).rules;
    for (const name of wanted) {
      const rule = rules.find((r) => r.name.as === name);
      assert.ok(rule, `an adapter rule serves ${name}`);
      const series = /^(\w+)\{/.exec(rule.seriesQuery)?.[1] ?? "";
      assert.match(series, new RegExp(rule.name.matches));
      assert.match(exported, new RegExp(`^# TYPE ${series} gauge$`, "m"), `${series} is a gauge our gateway exports`);
      assert.deepEqual(Object.values(rule.resources.overrides).map((o) => o.resource).sort(), ["namespace", "pod"], "per pod, as a Pods metric needs");
      const promql = rule.metricsQuery.replace("<<.Series>>", series).replace("<<.LabelMatchers>>", 'namespace="default"').replace("<<.GroupBy>>", "pod");
      const dir = mkdtempSync(path.join(os.tmpdir(), "esh-adapter-"));
      try {
        writeFileSync(path.join(dir, "q.yml"), `groups:\n  - name: q\n    rules:\n      - record: esh:adapter\n        expr: ${JSON.stringify(promql)}\n`);
        const r = spawnSync("promtool", ["check", "rules", path.join(dir, "q.yml")], { encoding: "utf8" });
        assert.equal(r.status, 0, `the adapter's query is PromQL: ${r.stdout}${r.stderr}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

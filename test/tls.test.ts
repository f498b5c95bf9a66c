/**
 * HTTPS and WSS (uWS SSLApp) with a certificate made here by openssl: the API, the key
 * endpoint's transport and the WebSocket all run over TLS, and plain HTTP to the port fails.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import WebSocket from "ws";
import { PlatformNode } from "../tools/harness/node.js";

let node: PlatformNode;
let dir: string;
let ca: Buffer;

function get(url: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    }).on("error", reject);
  });
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "esh-tls-"));
  const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  ca = readFileSync(cert);
  node = await PlatformNode.start({ services: "gateway,sessions,streams,rooms", env: { TLS_CERT_FILE: cert, TLS_KEY_FILE: key } });
});

after(async () => {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("TLS", () => {
  it("serves HTTPS and WSS; plain HTTP to the port gets no answer", async () => {
    assert.equal(node.scheme, "https");
    const health = await get(`${node.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.headers["strict-transport-security"], "max-age=31536000", "HSTS over TLS");
    const guest = await new Promise<string>((resolve, reject) => {
      const req = https.request(`${node.url}/api/auth/guest`, { method: "POST", ca }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve((JSON.parse(body) as { accessToken: string }).accessToken));
      });
      req.on("error", reject);
      req.end();
    });
    const hello = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`${node.wsUrl}?format=json&token=${guest}`, { ca });
      ws.once("message", (m: Buffer) => {
        ws.close();
        resolve(m.toString());
      });
      ws.once("error", reject);
    });
    assert.match(hello, /"t":"hello"/);
    const plain = await new Promise<string>((resolve) => {
      http.get(`http://127.0.0.1:${node.port}/healthz`, (res) => resolve(`status ${res.statusCode ?? 0}`)).on("error", (e) => resolve(`error ${e.message}`));
    });
    assert.match(plain, /^error|status 400/);
  });
});

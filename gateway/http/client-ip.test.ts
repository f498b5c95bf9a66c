import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientIp, forwardedFor, proxyTrust } from "./client-ip.js";

describe("clientIp", () => {
  it("ignores X-Forwarded-For unless trusted", () => {
    assert.equal(clientIp("198.51.100.9", "1.2.3.4", proxyTrust(false, [])), "198.51.100.9");
  });

  it("takes the right-most hop, never the client-written left-most one (one proxy)", () => {
    const one = proxyTrust(true, []);
    assert.equal(clientIp("10.0.0.2", "6.6.6.6, 203.0.113.5", one), "203.0.113.5");
    assert.equal(clientIp("10.0.0.2", "203.0.113.5", one), "203.0.113.5");
    assert.equal(clientIp("10.0.0.2", "", one), "10.0.0.2");
  });

  it("skips our own proxies from the right, and ignores the header from a peer that is not one", () => {
    const chain = proxyTrust(true, ["10.0.0.0/8", "192.0.2.7", "::1"]);
    assert.equal(clientIp("10.0.0.2", "6.6.6.6, 203.0.113.5, 192.0.2.7, 10.1.1.1", chain), "203.0.113.5");
    assert.equal(clientIp("198.51.100.9", "6.6.6.6", chain), "198.51.100.9");
    assert.equal(clientIp("::1", "2001:db8::5", chain), "2001:db8::5");
    assert.equal(clientIp("10.0.0.2", "10.9.9.9, 192.0.2.7", chain), "10.0.0.2");
  });

  it("believes only the socket when a hop is not an address", () => {
    assert.equal(clientIp("10.0.0.2", "6.6.6.6, not-an-ip", proxyTrust(true, [])), "10.0.0.2");
  });

  it("reads every X-Forwarded-For line (a proxy may add its own after the client's)", () => {
    const headers: [string, string][] = [["host", "x"], ["x-forwarded-for", "6.6.6.6"], ["x-forwarded-for", "203.0.113.9"]];
    const req = { forEach: (cb: (k: string, v: string) => void) => headers.forEach(([k, v]) => cb(k, v)) };
    assert.equal(forwardedFor(req), "6.6.6.6, 203.0.113.9");
    assert.equal(clientIp("10.0.0.2", forwardedFor(req), proxyTrust(true, [])), "203.0.113.9");
  });

  it("refuses bad proxy entries", () => {
    assert.throws(() => proxyTrust(true, ["example.com"]), /not an IP/);
    assert.throws(() => proxyTrust(true, ["10.0.0.0/33"]), /prefix/);
  });
});

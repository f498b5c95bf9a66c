/**
 * The targeted attacks of `npm run audit:security` (issue 15's classes), each against a real
 * node with the default limits (the fuzzing node lifts them): what was tried, how many tries the
 * platform refused (or that had no effect), and findings (tries that got what they should not).
 *   scheduled-stream join/leave   viewers come and go on a show that has not started
 *   SQL escapes                   the hostile corpus (analytics/sql-corpus) as an admin
 *   key fetch without entitlement keys, playback URLs, playlists of a private asset
 *   WHEP flood                    one guest opens WHEP sessions on a live show
 *   upgrade flood                 one token opens WebSockets
 *   spoofed X-Forwarded-For       guest tokens with a new left-most address each time
 *   quota abuse                   self-registration as creator; uploads past the quota
 */
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { api, PlatformNode } from "../tools/harness/node.js";
import { postOffer, whepOffer, whipOffer } from "../tools/harness/sdp-offers.js";
import { makeClip, uploadAndWait } from "../tools/harness/vod.js";

export interface AttackRow {
  attack: string;
  tries: number;
  refused: number;
  findings: number;
  note: string;
}

const ADMIN = { username: "auditor", password: "auditor password 1" };
const GRACE_MS = 1500;

/** The audit's own setup calls come from distinct addresses (behind the trusted proxy hop), so
 *  the per-address login limit bites only the attack that is about it. */
let setupClient = 0;
const from = (): Record<string, string> => ({ "x-forwarded-for": `10.0.${Math.floor(++setupClient / 250)}.${setupClient % 250}` });

async function login(base: string, username: string, password: string): Promise<{ token: string; id: string }> {
  const r = await api(base, "POST", "/api/auth/login", { username, password }, undefined, from());
  return { token: r.body.accessToken as string, id: (r.body.user as { id: string }).id };
}

async function creator(base: string, admin: string, name: string): Promise<{ token: string; id: string }> {
  const password = `${name} password 1`;
  const reg = await api(base, "POST", "/api/auth/register", { username: name, password }, undefined, from());
  await api(base, "POST", `/api/admin/users/${(reg.body.user as { id: string }).id}/role`, { role: "creator" }, admin);
  return login(base, name, password);
}

const guest = async (base: string): Promise<string> => (await api(base, "POST", "/api/auth/guest", undefined, undefined, from())).body.accessToken as string;

async function scheduledJoinLeave(node: PlatformNode, owner: string): Promise<AttackRow> {
  const id = (await api(node.url, "POST", "/api/streams", { title: "Starts later", kind: "live" }, owner)).body.id as string;
  const tries = 20;
  for (let i = 0; i < tries; i++) {
    const ws = new WebSocket(`${node.wsUrl}?format=json&token=${encodeURIComponent(await guest(node.url))}`);
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ t: "media.join", id: 1, d: { stream: id, role: "viewer" } }));
    await new Promise((r) => ws.once("message", r));
    ws.close();
  }
  await new Promise((r) => setTimeout(r, GRACE_MS * 2 + 2500));
  const status = (await api(node.url, "GET", `/api/streams/${id}`)).body.status as string;
  return { attack: "scheduled-stream join/leave", tries, refused: status === "created" ? tries : 0, findings: status === "created" ? 0 : 1, note: `show still ${status} after ${tries} viewers left` };
}

async function sqlEscapes(node: PlatformNode, admin: string): Promise<AttackRow> {
  const corpus = JSON.parse(readFileSync(new URL("../analytics/sql-corpus/hostile.json", import.meta.url), "utf8")) as { sql: string }[];
  let refused = 0;
  const other: string[] = [];
  for (const q of corpus) {
    let r = await api(node.url, "POST", "/api/analytics/query", { sql: q.sql }, admin);
    // The admin's own request rate limit is not the guard: wait it out and ask again.
    while (r.status === 429) {
      await new Promise((res) => setTimeout(res, 1000 * Number(r.headers.get("retry-after") ?? 1)));
      r = await api(node.url, "POST", "/api/analytics/query", { sql: q.sql }, admin);
    }
    // The guard's "Query refused: <reason>", or the action's own validation (empty, over 10,000
    // characters); a query that reached the store and failed there ("Query failed") is a finding.
    if (r.status === 400 && /^(Query refused: |Validation failed)/.test((r.body.error as { message?: string } | undefined)?.message ?? "")) refused++;
    else other.push(`${r.status}`);
  }
  return { attack: "SQL escapes (hostile corpus)", tries: corpus.length, refused, findings: corpus.length - refused, note: other.length ? `not refused: ${other.slice(0, 5).join(", ")}` : "each answered 400 BAD_REQUEST with a reason" };
}

async function keysWithoutEntitlement(node: PlatformNode, owner: string): Promise<AttackRow> {
  const asset = await uploadAndWait(node.url, owner, makeClip(1, "320x240"), "Private");
  await api(node.url, "PATCH", `/api/streams/${asset}`, { visibility: "private" }, owner);
  const g = await guest(node.url);
  const attempts: [string, Record<string, string>][] = [
    [`/api/keys/${asset}`, { authorization: `Bearer ${g}` }],
    [`/api/keys/${asset}`, {}],
    [`/api/keys/${asset}?pt=9999999999.forged`, {}],
    [`/api/playback/${asset}`, { authorization: `Bearer ${g}` }],
    [`/vod/${asset}/master.m3u8`, {}],
    [`/vod/${asset}/master.m3u8`, { authorization: `Bearer ${g}` }],
    [`/vod/${asset}/master.m3u8?pt=9999999999.forged`, {}],
    [`/api/streams/${asset}`, { authorization: `Bearer ${g}` }],
  ];
  let refused = 0;
  for (const [path, headers] of attempts) if ((await fetch(node.url + path, { headers })).status >= 400) refused++;
  return { attack: "key fetch without entitlement", tries: attempts.length, refused, findings: attempts.length - refused, note: "private asset: guest, no token, forged signed URL" };
}

async function whepFlood(node: PlatformNode, owner: string): Promise<AttackRow> {
  const id = (await api(node.url, "POST", "/api/streams", { title: "Flooded", kind: "live" }, owner)).body.id as string;
  await postOffer(`${node.url}/api/whip/${id}`, whipOffer(), owner);
  const g = await guest(node.url);
  const tries = 30;
  const answers = await Promise.all(Array.from({ length: tries }, () => postOffer(`${node.url}/api/whep/${id}`, whepOffer(), g)));
  const opened = answers.filter((a) => a.status === 201).length;
  const cap = 4; // media.whepPerUser
  return { attack: "WHEP flood (one guest)", tries, refused: answers.filter((a) => a.status === 429).length, findings: Math.max(0, opened - cap), note: `${opened} sessions opened (cap ${cap}); unconnected ones close after the connect timeout` };
}

async function upgradeFlood(node: PlatformNode): Promise<AttackRow> {
  const g = await guest(node.url);
  const tries = 60;
  const sockets = await Promise.all(Array.from({ length: tries }, () => new Promise<WebSocket | undefined>((resolve) => {
    const ws = new WebSocket(`${node.wsUrl}?token=${encodeURIComponent(g)}`);
    ws.once("open", () => resolve(ws));
    ws.once("error", () => resolve(undefined));
  })));
  const opened = sockets.filter((s) => s !== undefined);
  for (const s of opened) s.close();
  const cap = 20; // gateway.wsPerUser
  return { attack: "upgrade flood (one token)", tries, refused: tries - opened.length, findings: Math.max(0, opened.length - cap), note: `${opened.length} sockets accepted (cap ${cap} per user)` };
}

async function spoofedXff(node: PlatformNode): Promise<AttackRow> {
  const tries = 30;
  let ok = 0;
  for (let i = 0; i < tries; i++) {
    const r = await fetch(`${node.url}/api/auth/guest`, { method: "POST", headers: { "x-forwarded-for": `198.51.100.${i}, 203.0.113.9` } });
    if (r.ok) ok++;
  }
  const burst = 10; // gateway.authBurstPerIp
  return { attack: "spoofed X-Forwarded-For", tries, refused: tries - ok, findings: Math.max(0, ok - burst), note: `${ok} guest tokens for one real address (burst ${burst})` };
}

async function quotaAbuse(node: PlatformNode, admin: string): Promise<AttackRow> {
  const self = await api(node.url, "POST", "/api/auth/register", { username: "sneaky", password: "sneaky password 1", role: "creator" }, undefined, from());
  const c = await creator(node.url, admin, "hoarder");
  const tries = 10;
  let accepted = 0;
  for (let i = 0; i < tries; i++) {
    const r = await fetch(`${node.url}/api/uploads`, { method: "POST", headers: { "tus-resumable": "1.0.0", authorization: `Bearer ${c.token}`, "upload-length": String(100 << 20) } });
    if (r.status === 201) accepted++;
  }
  const cap = 3; // vod.maxActiveUploadsPerCreator
  return { attack: "quota abuse (self-made creator, uploads)", tries: tries + 1, refused: tries - accepted + (self.status === 403 ? 1 : 0), findings: Math.max(0, accepted - cap) + (self.status === 403 ? 0 : 1), note: `self-registration as creator: ${self.status}; ${accepted} uploads open at once (cap ${cap})` };
}

/** Runs every attack on one node with the default limits (trusting one proxy hop). */
export async function runAttacks(): Promise<AttackRow[]> {
  const node = await PlatformNode.start({
    env: { LOG_LEVEL: "warn", ESH_AUTH_OPEN_CREATOR_SIGNUP: "false", ESH_GATEWAY_TRUST_PROXY: "true", ADMIN_USER: ADMIN.username, ADMIN_PASSWORD: ADMIN.password, ESH_MEDIA_BROADCASTER_GRACE_MS: String(GRACE_MS), ESH_GATEWAY_AUTH_BURST_PER_IP: "10" },
  });
  try {
    // The platform's own setup goes through one address; the XFF attack uses its own.
    const admin = (await login(node.url, ADMIN.username, ADMIN.password)).token;
    const owner = (await creator(node.url, admin, "showrunner")).token;
    const rows: AttackRow[] = [];
    rows.push(await spoofedXff(node));
    rows.push(await scheduledJoinLeave(node, owner));
    rows.push(await sqlEscapes(node, admin));
    rows.push(await keysWithoutEntitlement(node, owner));
    rows.push(await whepFlood(node, owner));
    rows.push(await upgradeFlood(node));
    rows.push(await quotaAbuse(node, admin));
    return rows;
  } finally {
    await node.stop();
  }
}

export function attackTable(rows: AttackRow[]): string {
  const lines = ["| attack | tries | refused | findings | note |", "|---|---|---|---|---|"];
  for (const r of rows) lines.push(`| ${r.attack} | ${r.tries} | ${r.refused} | ${r.findings}${r.findings ? " FINDING" : ""} | ${r.note} |`);
  return lines.join("\n");
}

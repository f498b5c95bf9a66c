/**
 * `npm run upload -- <file> [--title T] [--url http://127.0.0.1:8080] [--user U --password P]`
 * Uploads a video with tus (8 MiB chunks, resumable: run it again after an interruption),
 * shows upload and encoding progress bars, and prints the watch URL. The credentials may also
 * come from ESH_USER / ESH_PASSWORD.
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import WebSocket from "ws";

const CHUNK = 8 * 1024 * 1024;
const args = process.argv.slice(2);
const opt = (name: string, fallback = ""): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const file = args.find((a, i) => !a.startsWith("--") && !(args[i - 1] ?? "").startsWith("--"));
const base = opt("url", "http://127.0.0.1:8080").replace(/\/+$/, "");
const user = opt("user", process.env.ESH_USER ?? "");
const password = opt("password", process.env.ESH_PASSWORD ?? "");
const bar = (label: string, p: number, extra = "") => `${label.padEnd(9)} [${"#".repeat(Math.round(p / 4)).padEnd(25)}] ${String(Math.round(p)).padStart(3)}% ${extra}`;
const show = (line: string) => process.stdout.write(process.stdout.isTTY ? `\r${line.padEnd(80)}` : `${line}\n`);

async function main(): Promise<void> {
  if (!file || !user || !password) {
    console.error("usage: npm run upload -- <file> [--title T] [--url URL] --user U --password P");
    process.exit(2);
  }
  const size = statSync(file).size;
  const title = opt("title", path.basename(file));
  const login = await fetch(`${base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: user, password }) });
  const body = (await login.json()) as { accessToken?: string; error?: { message: string } };
  if (!login.ok || !body.accessToken) throw new Error(`login failed: ${body.error?.message ?? login.status}`);
  const token = body.accessToken;
  const headers = { "tus-resumable": "1.0.0", authorization: `Bearer ${token}` };
  const created = await fetch(`${base}/api/uploads`, { method: "POST", headers: { ...headers, "upload-length": String(size), "upload-metadata": `title ${Buffer.from(title).toString("base64")},filename ${Buffer.from(path.basename(file)).toString("base64")}` } });
  if (created.status !== 201) throw new Error(`upload refused: ${await created.text()}`);
  const { streamId } = (await created.json()) as { streamId: string };
  const location = created.headers.get("location") ?? "";
  const done = waitForEncoding(token, streamId);
  const data = readFileSync(file);
  let offset = 0;
  while (offset < size) {
    const res = await fetch(`${base}${location}`, { method: "PATCH", headers: { ...headers, "content-type": "application/offset+octet-stream", "upload-offset": String(offset) }, body: data.subarray(offset, Math.min(size, offset + CHUNK)) });
    if (res.status !== 204) throw new Error(`upload failed: ${((await res.json()) as { error?: { message: string } }).error?.message ?? res.status}`);
    offset = Number(res.headers.get("upload-offset"));
    show(bar("upload", (100 * offset) / size, `${(offset / 1e6).toFixed(1)}/${(size / 1e6).toFixed(1)} MB`));
  }
  process.stdout.write("\n");
  await done;
  process.stdout.write("\n");
  console.log(`ready: ${base}/app/watch/${streamId}`);
}

/** Resolves when the encoding job of this stream is done; rejects when it failed. */
function waitForEncoding(token: string, streamId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws?format=json&token=${encodeURIComponent(token)}`);
    ws.on("message", (m: Buffer) => {
      const f = JSON.parse(m.toString()) as { t: string; d?: { streamId: string; status: string; percent: number; error?: string } };
      if (f.t !== "encode.progress" || f.d?.streamId !== streamId) return;
      show(bar("encoding", f.d.percent, f.d.status));
      if (f.d.status === "done") {
        ws.close();
        resolve();
      } else if (f.d.status === "failed" || f.d.status === "cancelled") {
        ws.close();
        reject(new Error(`encoding ${f.d.status}: ${f.d.error ?? ""}`));
      }
    });
    ws.on("error", reject);
  });
}

main().catch((err: unknown) => {
  console.error(`\nupload: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

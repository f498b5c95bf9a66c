/**
 * The hls bench's baseline in a process of its own, as our gateway has: node:http reading each
 * requested file from disk (no cache). `node --import tsx bench/static-server.ts <root>`; prints
 * `listening <port>` once it accepts connections.
 */
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";

const root = process.argv[2];
if (!root) {
  console.error("usage: static-server.ts <root>");
  process.exit(2);
}
const server = http.createServer((req, res) => {
  const rel = decodeURIComponent((req.url ?? "/").split("?")[0] ?? "/").replace(/^\/vod\//, "");
  if (rel.includes("..")) return res.writeHead(404).end();
  readFile(path.join(root, rel)).then(
    (body) => res.writeHead(200, { "content-type": "video/mp2t", "content-length": body.length }).end(body),
    () => res.writeHead(404).end(),
  );
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => console.log(`listening ${String((server.address() as { port: number }).port)}`));

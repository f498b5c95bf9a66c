/** VOD helpers for tests: make a clip with ffmpeg's lavfi sources, upload it (tus), wait until ready. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { api } from "./node.js";
import { waitFor } from "./ports.js";

/** `noisy`: grain that keeps every rendition near its target bitrate (a test pattern alone compresses to almost nothing). */
export function makeClip(seconds: number, size = "1280x720", noisy = false): Buffer {
  const dir = mkdtempSync(path.join(os.tmpdir(), "esh-clip-"));
  try {
    const file = path.join(dir, "clip.mp4");
    execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc=size=${size}:rate=30${noisy ? ",noise=alls=25:allf=t+u" : ""}`, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", file]);
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Uploads in one chunk and waits until the asset is ready; returns the stream id. */
export async function uploadAndWait(base: string, token: string, bytes: Buffer, title: string, timeoutMs = 120_000): Promise<string> {
  const headers = { "tus-resumable": "1.0.0", authorization: `Bearer ${token}` };
  const created = await fetch(`${base}/api/uploads`, { method: "POST", headers: { ...headers, "upload-length": String(bytes.length), "upload-metadata": `title ${Buffer.from(title).toString("base64")}` } });
  if (created.status !== 201) throw new Error(`upload refused: ${created.status} ${await created.text()}`);
  const { uploadId, streamId } = (await created.json()) as { uploadId: string; streamId: string };
  const patch = await fetch(`${base}/api/uploads/${uploadId}`, { method: "PATCH", headers: { ...headers, "content-type": "application/offset+octet-stream", "upload-offset": "0" }, body: bytes });
  if (patch.status !== 204) throw new Error(`chunk refused: ${patch.status} ${await patch.text()}`);
  await waitFor(`asset ${streamId} ready`, async () => {
    const s = (await api(base, "GET", `/api/streams/${streamId}`)).body as { status: string };
    if (s.status === "failed") throw new Error("encoding failed");
    return s.status === "ready" || undefined;
  }, timeoutMs, 250);
  return streamId;
}

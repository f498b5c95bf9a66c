/**
 * Resumable uploads (tus 1.0, 8 MiB chunks) with progress; an interrupted upload of the same file
 * resumes where it stopped (its URL is kept in localStorage). Token refreshed per chunk.
 */
import { ApiError } from "../api";
import { session } from "../session";

const CHUNK = 8 * 1024 * 1024;

async function tus(method: string, url: string, headers: Record<string, string> = {}, body?: Blob): Promise<Response> {
  const token = await session.token();
  const res = await fetch(url, { method, headers: { "tus-resumable": "1.0.0", authorization: `Bearer ${token}`, ...headers }, ...(body ? { body } : {}) });
  if (!res.ok) {
    const err = ((await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }).error;
    throw new ApiError(err?.code ?? `HTTP_${String(res.status)}`, err?.message ?? `${method} ${String(res.status)}`, res.status);
  }
  return res;
}

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
const key = (f: File) => `esh.upload.${f.name}.${String(f.size)}`;

async function begin(file: File, title: string): Promise<{ location: string; streamId: string; offset: number }> {
  const saved = localStorage.getItem(key(file));
  if (saved) {
    const { location, streamId } = JSON.parse(saved) as { location: string; streamId: string };
    const head = await tus("HEAD", location).catch(() => null);
    if (head) return { location, streamId, offset: Number(head.headers.get("upload-offset")) };
  }
  const res = await tus("POST", "/api/uploads", { "upload-length": String(file.size), "upload-metadata": `title ${b64(title)},filename ${b64(file.name)}` });
  const { streamId } = (await res.json()) as { streamId: string };
  const location = res.headers.get("location") ?? "";
  localStorage.setItem(key(file), JSON.stringify({ location, streamId }));
  return { location, streamId, offset: 0 };
}

/** Uploads the file; `onProgress(sent, total)` after each chunk. Resolves with the new stream id. */
export async function upload(file: File, title: string, onStream: (id: string) => void, onProgress: (sent: number, total: number) => void): Promise<string> {
  const up = await begin(file, title);
  onStream(up.streamId);
  let offset = up.offset;
  onProgress(offset, file.size);
  while (offset < file.size) {
    const chunk = file.slice(offset, Math.min(file.size, offset + CHUNK));
    const res = await tus("PATCH", up.location, { "content-type": "application/offset+octet-stream", "upload-offset": String(offset) }, chunk);
    offset = Number(res.headers.get("upload-offset"));
    onProgress(offset, file.size);
  }
  localStorage.removeItem(key(file));
  return up.streamId;
}

/**
 * Videos encoded before the catalog kept their length: it is read back from their HLS ladder in
 * the blob store (the first variant's segment durations summed) and stored on the stream, once,
 * in the background after the streams actor starts. Recommendations measure completion against
 * it; without it a video counts no completion.
 */
import type { BlobStore } from "../../blobs/index.js";

/** Seconds of a media playlist: the sum of its #EXTINF durations (0 if it has none). */
export function playlistSeconds(text: string): number {
  let total = 0;
  for (const m of text.matchAll(/^#EXTINF:([0-9.]+)/gm)) total += Number(m[1]);
  return Math.round(total * 1000) / 1000;
}

/** The first variant's URI in a master playlist (a relative path below the stream's folder). */
export function firstVariant(master: string): string | undefined {
  const lines = master.split(/\r?\n/);
  const i = lines.findIndex((l) => l.startsWith("#EXT-X-STREAM-INF"));
  const uri = i >= 0 ? lines.slice(i + 1).find((l) => l.trim() !== "" && !l.startsWith("#"))?.trim() : undefined;
  return uri && /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(uri) && !uri.split("/").includes("..") ? uri : undefined;
}

/** A ready video's length from its ladder in the store, or undefined when it cannot be read. */
export async function ladderSeconds(blobs: BlobStore, streamId: string): Promise<number | undefined> {
  const master = await blobs.get(`vod/${streamId}/master.m3u8`);
  const variant = master && firstVariant(master.body.toString("utf8"));
  const media = variant && (await blobs.get(`vod/${streamId}/${variant}`));
  const seconds = media ? playlistSeconds(media.body.toString("utf8")) : 0;
  return seconds > 0 ? seconds : undefined;
}

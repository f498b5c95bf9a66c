/** Types of live-media.js for the TypeScript web app (web/app). */
export interface LiveStats {
  kbps: number;
  width: number;
  height: number;
  latencyMs: number | null;
  fps: number;
  packetsLost: number;
}
export type Requester = (t: string, d: unknown) => Promise<unknown>;
export class LiveMedia {
  constructor(request: Requester, streamId: string, opts?: { onState?: (s: string) => void });
  readonly closed: boolean;
  readonly consumers: Map<string, unknown>;
  readonly producers: Map<string, unknown>;
  broadcast(media: MediaStream, source?: "camera" | "screen"): Promise<string[]>;
  watch(video: HTMLVideoElement): Promise<void>;
  setQuality(q: "auto" | "low" | "medium" | "high"): Promise<void>;
  onNotice(f: { t: string; d?: unknown }): boolean;
  stats(): Promise<LiveStats>;
  close(): void;
}

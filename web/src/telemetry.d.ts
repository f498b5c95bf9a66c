/** Types of telemetry.js (docs/events.md) for the TypeScript web app (web/app). */
export interface View {
  quality(rendition: string, bitrateKbps: number): void;
  error(code: string, fatal: boolean): void;
  end(): void;
}
export class Telemetry {
  constructor(opts: { send: (events: unknown[], retry: boolean) => Promise<unknown>; beacon: () => { url: string; token: string | undefined }; onExit?: () => void });
  track(type: string, fields?: Record<string, unknown>): void;
  watch(video: HTMLVideoElement, opts: { stream: string; protocol: string; bitrate?: () => number; rendition?: () => string }): View;
  flush(): Promise<void>;
}

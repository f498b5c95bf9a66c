/** Types of player.js (hls.js) for the TypeScript web app (web/app). */
export interface Level {
  index: number;
  height: number;
  bitrate: number;
}
export interface Player {
  readonly levels: Level[];
  readonly level: number;
  readonly auto: boolean;
  setLevel(i: number): void;
  destroy(): void;
}
export function createPlayer(video: HTMLVideoElement, opts: { src: string; token?: string; onChange?: (what: string) => void; maxBufferSec?: number }): Player;
export function keyboard(video: HTMLVideoElement, target?: EventTarget): void;

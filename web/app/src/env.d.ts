/// <reference types="vite/client" />

// hls.js ships one set of typings; its light build has the same API (minus subtitles, alternate audio, EME, CMCD).
declare module "hls.js/light" {
  export * from "hls.js";
  export { default } from "hls.js";
}

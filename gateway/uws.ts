/**
 * Loads uWebSockets.js from @trufflesuite/uws-js-unofficial. Its own entry silently falls back
 * to a slow pure-JS implementation when the native binary does not match this Node; here the
 * native binary is loaded directly, and the fallback is used only when allowed by config.
 */
import { createRequire } from "node:module";
import type * as UWS from "@trufflesuite/uws-js-unofficial";

export type Uws = typeof UWS;
const require = createRequire(import.meta.url);

export interface LoadedUws {
  uws: Uws;
  implementation: string;
  native: boolean;
}

export function loadUws(allowFallback: boolean): LoadedUws {
  const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  try {
    const uws = require(`@trufflesuite/uws-js-unofficial/binaries/${binary}`) as Uws;
    return { uws, implementation: `uWebSockets.js native (${binary})`, native: true };
  } catch (err) {
    if (!allowFallback) {
      throw new Error(
        `uWebSockets.js native binary ${binary} did not load (${(err as Error).message}). ` +
          `Use Node 20 (ABI 115), or set UWS_ALLOW_FALLBACK=1 to run on the slow JS fallback.`,
        { cause: err },
      );
    }
    const uws = require("@trufflesuite/uws-js-unofficial/dist/index") as Uws;
    return { uws, implementation: "uWebSockets.js JS FALLBACK (slow; not for production)", native: false };
  }
}

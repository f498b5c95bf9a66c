/**
 * The web app's build: `npm run build:web` -> web/app/dist, served by the gateway at /app/.
 * Preact through esbuild's automatic JSX runtime (no framework plugin needed).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root,
  base: "/app/",
  logLevel: "warn",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { chunkSizeWarningLimit: 700 /* hls.js, loaded only by the HLS player */, outDir: path.join(root, "dist"), emptyOutDir: true, target: "es2022", sourcemap: false, reportCompressedSize: false },
});

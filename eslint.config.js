// ESLint flat config: typescript-eslint with type-checked rules over every .ts file.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "data/**", ".data/**", ".scratch/**", "web/vendor/**", "web/app/dist/**"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-confusing-void-expression": "off",
      "no-console": "error",
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "suite"] }] },
      ],
    },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: false },
      globals: { process: "readonly", console: "readonly", URL: "readonly", setTimeout: "readonly" },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, "no-console": "off" },
  },
  {
    files: ["bench/glass/*.js"],
    languageOptions: {
      globals: { document: "readonly", location: "readonly", WebSocket: "readonly", navigator: "readonly", MediaStream: "readonly", RTCPeerConnection: "readonly", sessionStorage: "readonly", localStorage: "readonly", atob: "readonly", btoa: "readonly", TextEncoder: "readonly", Option: "readonly", HTMLInputElement: "readonly", HTMLSelectElement: "readonly", window: "readonly", setInterval: "readonly", performance: "readonly", fetch: "readonly", FormData: "readonly", URLSearchParams: "readonly", setTimeout: "readonly", console: "readonly", crypto: "readonly", addEventListener: "readonly", Blob: "readonly", clearInterval: "readonly", ResizeObserver: "readonly", Date: "readonly" },
    },
  },
  {
    files: ["**/*.test.ts", "**/*.contract.ts", "test/**/*.ts", "tools/**/*.ts", "bench/**/*.ts", "scripts/**"],
    rules: { "no-console": "off", "@typescript-eslint/no-non-null-assertion": "off" },
  },
);

/**
 * docs/configuration.md, made from the settings table (lib/config.ts): `npm run docs:config`
 * writes it, and lib/config.test.ts fails when the file is not what the table says.
 */
import { settingsTable, type Setting } from "./config.js";

const show = (v: unknown): string => {
  if (Array.isArray(v)) return v.length === 0 ? "(none)" : v.join(",");
  if (v === "") return "(empty)";
  return String(v);
};

function allowed(s: Setting): string {
  const k = s.kind;
  switch (k.t) {
    case "int":
    case "num":
      return `${k.t === "int" ? "integer" : "number"} ${show(k.min)}..${k.max === Number.MAX_SAFE_INTEGER ? "∞" : show(k.max)}`;
    case "bool":
      return "true / false";
    case "str":
      return "text";
    case "enum":
      return k.values.map((v) => (v === "" ? "(empty)" : v)).join(" / ");
    case "list":
      return k.values ? `some of ${k.values.join(", ")}` : "comma-separated list";
  }
}

const cell = (text: string): string => text.replace(/\|/g, "\\|");

export function configurationDoc(): string {
  const rows = settingsTable().map((s) => `| \`${s.path}\` | \`${s.env}\`${s.alias ? ` / \`${s.alias}\`` : ""} | \`${cell(show(s.spec.default))}\` | ${cell(allowed(s))} | ${cell(s.spec.doc)} |`);
  return [
    "# Configuration",
    "",
    "<!-- Made from lib/config.ts by `npm run docs:config`; lib/config.test.ts fails when it is stale. -->",
    "",
    "Layers, later wins: these defaults -> an optional JSON file named by `CONFIG_FILE` (the same",
    "paths, nested: `{\"gateway\": {\"wsBurst\": 7}}`) -> environment variables -> validation. Unknown",
    "keys in the file and unknown `ESH_*` variables stop start-up with the list of known ones; a bad",
    "value names the variable and what is allowed (exit code 78).",
    "",
    "| setting | variable | default | allowed | what it does |",
    "|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

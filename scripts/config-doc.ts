/** `npm run docs:config`: writes docs/configuration.md from the settings table (lib/config.ts). */
import { writeFileSync } from "node:fs";
import { configurationDoc } from "../lib/config-doc.js";

writeFileSync(new URL("../docs/configuration.md", import.meta.url), configurationDoc());
console.log("docs/configuration.md written");

#!/usr/bin/env node
/**
 * Builds the web app into web/dist (part of `npm run build`): esbuild bundles web/src/main.ts into
 * app.js and the SDK's browser entry into storm-client.js (ES modules, ES2022, with source maps);
 * index.html and style.css are copied. The node serves web/dist at `/`.
 */
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL(".", import.meta.url));
const out = `${web}dist`;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const common = { bundle: true, format: "esm", target: "es2022", platform: "browser", sourcemap: true, logLevel: "warning" };
await build({ ...common, entryPoints: [`${web}src/main.ts`], outfile: `${out}/app.js` });
await build({ ...common, entryPoints: [`${web}../client/browser.ts`], outfile: `${out}/storm-client.js` });
for (const f of ["index.html", "style.css"]) copyFileSync(`${web}${f}`, `${out}/${f}`);

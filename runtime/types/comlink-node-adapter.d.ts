// comlink ships this adapter as .mjs beside a .d.ts that TypeScript cannot pair with it.
declare module "comlink/dist/esm/node-adapter.mjs" {
  import type { Endpoint } from "comlink";
  export default function nodeEndpoint(nep: unknown): Endpoint;
}

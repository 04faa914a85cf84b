/**
 * The SDK's browser bundle entry (esbuild builds it into web/dist/storm-client.js): the SDK with
 * its browser and web-standard platforms.
 */
export * from "./index.ts";
export { browserPlatform } from "./platform/browser.ts";
export { webPlatform } from "./platform/web.ts";

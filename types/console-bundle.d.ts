/** The web console built for browsers (scripts/deploy/esbuildPlugins.js makes this module when a function's bundle is built). */
declare module "console-bundle" {
  export const js: string;
  export const css: string;
}

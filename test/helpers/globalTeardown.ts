import type { StackHost } from "./stackHost";

/** Stops what the integration project's global setup started. */
export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { __stackHost?: StackHost };
  await holder.__stackHost?.close();
  delete holder.__stackHost;
}

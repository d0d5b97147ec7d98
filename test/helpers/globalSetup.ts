import { HOST_VARIABLE, StackHost } from "./stackHost";

/** The integration project's global setup: the run's stack host (test/helpers/stackHost.ts), its URL for the test files. */
export default async function globalSetup(): Promise<void> {
  const host = new StackHost();
  process.env[HOST_VARIABLE] = await host.listen();
  (globalThis as { __stackHost?: StackHost }).__stackHost = host;
}

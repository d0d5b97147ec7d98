import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startLocalStack, type LocalStack } from "../../scripts/local/stack";
import { freePort } from "../../scripts/util/ports";

export const PROJECT_ROOT = path.resolve(__dirname, "../..");

export interface TestStack extends LocalStack {
  readonly bucket: string;
  /** serverless-offline's output so far, for failure messages. */
  output(): string;
}

/**
 * The real local stack (s3rver + serverless-offline) on free ports with a fresh S3 folder,
 * removed by stop(). Every integration test talks to it over HTTP.
 */
export async function startTestStack(env: Record<string, string> = {}): Promise<TestStack> {
  const s3Directory = await mkdtemp(path.join(os.tmpdir(), "inspection-s3-"));
  const bucket = "test-models";
  let log = "";
  const stack = await startLocalStack({
    root: PROJECT_ROOT,
    httpPort: await freePort(),
    lambdaPort: await freePort(),
    s3Port: await freePort(),
    s3Directory,
    bucket,
    env: { LOG_LEVEL: "warn", ...env },
    output: (chunk) => {
      log += chunk;
    },
  });
  return {
    ...stack,
    bucket,
    output: () => log,
    stop: async () => {
      await stack.stop();
      await rm(s3Directory, { recursive: true, force: true });
    },
  };
}

import path from "node:path";
import { startThrowawayStack, type LocalStack } from "../../scripts/local/stack";

export const PROJECT_ROOT = path.resolve(__dirname, "../..");

export interface TestStack extends LocalStack {
  readonly bucket: string;
  /** serverless-offline's output so far, for failure messages. */
  output(): string;
}

/**
 * The real local stack (s3rver + serverless-offline) on free ports with a fresh S3 folder,
 * removed by stop(). Every integration test talks to it over HTTP.
 * `options.s3Port` fixes the S3 server's port and `options.serviceS3Endpoint` gives the service
 * another endpoint than the S3 server's (a fault proxy in front of it, test/helpers/faultProxy.ts);
 * `options.params` sets stage settings (serverless.yml params) for this stack only.
 */
export async function startTestStack(
  env: Record<string, string> = {},
  options: { s3Port?: number; serviceS3Endpoint?: string; params?: Record<string, string> } = {},
): Promise<TestStack> {
  const bucket = "test-models";
  let log = "";
  const stack = await startThrowawayStack({ root: PROJECT_ROOT, bucket, env, output: (chunk) => (log += chunk), ...options });
  return { ...stack, bucket, output: () => log };
}

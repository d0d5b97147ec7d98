import { readFileSync } from "node:fs";
import { startThrowawayStack, type LocalStack } from "../../scripts/local/stack";
import { askHost, PROJECT_ROOT, TEST_BUCKET, TEST_STACK_ARGS, type SharedStackInfo, type SharedStackName } from "./stackHost";

export { PROJECT_ROOT };

export interface TestStack extends LocalStack {
  readonly bucket: string;
  /** serverless-offline's output so far, for failure messages and log assertions. */
  output(): string;
}

/** The folder the run's bundle is served from (test/helpers/stackHost.ts). */
export async function runBundle(): Promise<string> {
  return (await askHost<{ serviceDir: string }>("/bundle")).serviceDir;
}

/**
 * A stack of the test's own: the real local stack (s3rver + serverless-offline) on free ports
 * with a fresh S3 folder, serving the run's bundle, removed by stop(). For what a shared stack
 * cannot be: another environment that matters to every request (limits, kNN backend, fan-out
 * budget), stage params, or an S3 endpoint the test breaks (`options.serviceS3Endpoint`: a fault
 * proxy, test/helpers/faultProxy.ts, in front of the S3 server on `options.s3Port`).
 */
export async function startTestStack(
  env: Record<string, string> = {},
  options: { s3Port?: number; serviceS3Endpoint?: string; params?: Record<string, string> } = {},
): Promise<TestStack> {
  let log = "";
  const stack = await startThrowawayStack({
    root: PROJECT_ROOT,
    bucket: TEST_BUCKET,
    env,
    output: (chunk) => (log += chunk),
    serviceDir: await runBundle(),
    serverlessArgs: TEST_STACK_ARGS,
    ...options,
  });
  return { ...stack, bucket: TEST_BUCKET, output: () => log };
}

/**
 * A stack shared by the test files of the run (stackHost.ts's SHARED_STACKS), started by the
 * first that asks. A file on it writes under ids of its own and reads only its own log lines
 * (`output()` is everything the stack logged, from every file); stop() leaves it running.
 */
export async function sharedStack(name: SharedStackName): Promise<TestStack> {
  const info = await askHost<SharedStackInfo>(`/stacks/${name}`);
  return {
    url: info.url,
    s3Endpoint: info.s3Endpoint,
    bucket: info.bucket,
    buildDir: info.buildDir,
    pid: info.pid,
    env: info.env,
    output: () => readFileSync(info.logFile, "utf8"),
    stop: async () => undefined,
  };
}

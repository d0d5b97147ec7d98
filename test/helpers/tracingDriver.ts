/**
 * Run by test/integration/tracing.test.ts in a process whose environment is a Lambda runtime's as
 * far as X-Ray is concerned (AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT, a daemon address, the trace header
 * set per invocation as Lambda sets it): loads the real handlers and invokes them with API Gateway
 * events, printing each answer's status as a JSON line.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { brushedMetal, encodePng } from "../../scripts/synthetic/images";
import { multipartBody, restEvent } from "./lambdaRuntime";

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<{ statusCode: number; body: string }>;

/** A trace header as Lambda's runtime sets it per invocation (sampled). */
function traceHeader(): string {
  const root = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;
  return `Root=${root};Parent=${randomBytes(8).toString("hex")};Sampled=1`;
}

async function invoke(module: string, event: APIGatewayProxyEvent): Promise<void> {
  process.env._HANDLER = `functions/${module}.handler`;
  process.env._X_AMZN_TRACE_ID = traceHeader();
  const { handler } = (await import(`../../functions/${module}`)) as { handler: Handler };
  const context = {
    awsRequestId: randomUUID(),
    functionName: `patchcore-inspection-dev-${module}`,
    getRemainingTimeInMillis: () => 29_000,
  } as unknown as Context;
  const result = await handler(event, context);
  console.log(JSON.stringify({ module, trace: process.env._X_AMZN_TRACE_ID, status: result.statusCode, body: JSON.parse(result.body) }));
}

async function main(): Promise<void> {
  const images = await Promise.all([1, 2].map(async (seed) => ({ filename: `ok_${seed}.png`, data: await encodePng(brushedMetal(96, 64, seed)) })));
  const ids: [string, string][] = [
    ["role_id", "Traced"],
    ["roi_id", "Pattern"],
    ["recipe_id", "line-9"],
  ];
  const form = async (fields: [string, string | { filename: string; data: Uint8Array }][]) => {
    const { body, contentType } = await multipartBody(fields);
    return restEvent("POST", "/x", { headers: { "Content-Type": contentType }, body, binary: true });
  };
  await invoke("fitOk", await form([...ids, ["mm_per_px", "0.1"], ...images.map((i): [string, typeof i] => ["images", i])]));
  await invoke("infer", await form([...ids, ["mm_per_px", "0.1"], ["image", images[0]!]]));
  // a dataset fit started as a job: the job runner is invoked through the (captured) Lambda client
  await invoke("datasetsUploadOk", await form([...ids, ...images.map((i): [string, typeof i] => ["images", i])]));
  await invoke("fitOk", await form([...ids, ["mm_per_px", "0.1"], ["use_dataset", "true"]]));
}

main().then(
  // the X-Ray SDK sends each closed subsegment over UDP: let the last ones leave
  () => setTimeout(() => process.exit(0), 300),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

/**
 * `npm start`: the service on this machine, on its embedded defaults. An S3-compatible server
 * (s3rver, objects under .local/s3 so models survive restarts) and serverless-offline serving
 * the real handlers. Ctrl-C stops both.
 *
 * Environment: HTTP_PORT (3000), LAMBDA_PORT (3002), S3_PORT (4569), MODELS_BUCKET,
 * S3_ENDPOINT (set it to use LocalStack or real S3 instead of the embedded server; credentials
 * then come from the usual AWS variables), MODEL_NAME and any variable of lib/config.ts.
 */
import path from "node:path";
import { loadConfig } from "../../lib/config";
import { startLocalStack } from "./stack";

async function main(): Promise<void> {
  const root = path.resolve(__dirname, "../..");
  const config = loadConfig(process.env); // fail fast on a bad variable, before anything starts
  const stack = await startLocalStack({
    root,
    httpPort: Number(process.env.HTTP_PORT ?? 3000),
    lambdaPort: Number(process.env.LAMBDA_PORT ?? 3002),
    externalS3Endpoint: process.env.S3_ENDPOINT || undefined,
    s3Port: Number(process.env.S3_PORT ?? 4569),
    s3Directory: path.join(root, ".local/s3"),
    bucket: config.s3.bucket,
  });
  console.log(
    `\nInspection API ready at ${stack.url}  (try: curl ${stack.url}/health)\n` +
      `Model store: ${stack.s3Endpoint} bucket ${config.s3.bucket}, prefix ${config.s3.prefix}\n` +
      `Model: ${config.model.name} from ${path.join(root, "layers/runtime/models")}\nCtrl-C stops everything.\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping serverless-offline and the S3 server...`);
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

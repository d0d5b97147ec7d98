/**
 * `npm start`: the service on this machine, on its embedded defaults. An S3-compatible server
 * (s3rver, objects under .local/s3 so models survive restarts) and serverless-offline serving
 * the real handlers. Ctrl-C stops both.
 *
 * Environment: HTTP_PORT (3000), LAMBDA_PORT (3002), S3_PORT (4569), MODELS_BUCKET,
 * S3_ENDPOINT (set it to use LocalStack or real S3 instead of the embedded server; credentials
 * then come from the usual AWS variables), MODEL_DIR (default layers/runtime/models), MODEL_NAME
 * and any variable of lib/config.ts. A port already in use is one line naming it and the
 * variable that changes it, and exit status 1.
 *
 * Arguments go to `serverless offline start`: `npm start -- --stage plant-a` runs with that
 * stage's settings, `npm start -- --param="enforceLocally=true"` applies the stage's API key and
 * source ranges here too (the key: LOCAL_API_KEY, else one serverless-offline generates and prints).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../lib/config";
import { portInUse } from "../util/ports";
import { startLocalStack } from "./stack";

/** A problem the user fixes (a busy or bad port): one line, no stack trace. */
class StartError extends Error {}

function port(variable: string, fallback: number): number {
  const raw = process.env[variable];
  const value = raw === undefined || raw.trim() === "" ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new StartError(`${variable}=${JSON.stringify(raw)} is not a TCP port (1-65535)`);
  }
  return value;
}

async function main(): Promise<void> {
  const root = path.resolve(__dirname, "../..");
  const config = loadConfig(process.env); // fail fast on a bad variable, before anything starts
  const host = process.env.HTTP_HOST || "127.0.0.1";
  const externalS3Endpoint = process.env.S3_ENDPOINT || undefined;
  const ports = { HTTP_PORT: port("HTTP_PORT", 3000), LAMBDA_PORT: port("LAMBDA_PORT", 3002), S3_PORT: port("S3_PORT", 4569) };
  for (const [variable, value] of Object.entries(ports)) {
    if (variable === "S3_PORT" && externalS3Endpoint) continue;
    if (await portInUse(value, variable === "S3_PORT" ? "127.0.0.1" : host)) {
      throw new StartError(
        `Port ${value} (${variable}) is already in use: stop what listens there (another npm start?) or choose another port, e.g. ${variable}=${value + 100} npm start`,
      );
    }
  }
  // A MODEL_DIR of the user's is honoured (config.model.dir resolves it); else the project's generated models.
  const modelDir = process.env.MODEL_DIR?.trim() ? config.model.dir : path.join(root, "layers/runtime/models");
  const onnxPath = path.join(modelDir, `${config.model.name}.onnx`);
  if (!existsSync(onnxPath))
    console.warn(`Warning: ${onnxPath} does not exist (MODEL_DIR, MODEL_NAME): /health and every endpoint will answer 503 until it does.`);
  const stack = await startLocalStack({
    root,
    httpPort: ports.HTTP_PORT,
    lambdaPort: ports.LAMBDA_PORT,
    externalS3Endpoint,
    s3Port: ports.S3_PORT,
    s3Directory: path.join(root, ".local/s3"),
    bucket: config.s3.bucket,
    modelDir,
    serverlessArgs: process.argv.slice(2),
  });
  console.log(
    `\nInspection API ready at ${stack.url}  (try: curl ${stack.url}/health)\n` +
      `Model store: ${stack.s3Endpoint} bucket ${config.s3.bucket}, prefix ${config.s3.prefix}\n` +
      `Model: ${config.model.name} from ${modelDir}\nCtrl-C stops everything.\n`,
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
  if (error instanceof StartError) {
    console.error(error.message);
  } else if ((error as NodeJS.ErrnoException)?.code === "EADDRINUSE") {
    // taken between the check and the start (the embedded S3 server's port)
    const { port: busy } = error as NodeJS.ErrnoException & { port?: number };
    console.error(`Port ${busy ?? ""} is already in use: choose other ports with HTTP_PORT, LAMBDA_PORT and S3_PORT`);
  } else {
    console.error(error instanceof Error ? error.message : error);
  }
  process.exit(1);
});

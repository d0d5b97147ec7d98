import packageJson from "../../package.json";
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { S3RVER_CREDENTIALS } from "../../scripts/local/s3Server";
import { jsonOf } from "../helpers/http";
import { PROJECT_ROOT, sharedStack, startTestStack, type TestStack } from "../helpers/testStack";

const packageVersion = packageJson.version;

describe("local stack: S3 server + serverless-offline, GET /health over HTTP", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await sharedStack("main");
  }, 180_000);

  it("answers with the model really loaded, the package version and the runtime", async () => {
    const card = JSON.parse(await readFile(path.join(PROJECT_ROOT, "layers/runtime/models/texture-s14.card.json"), "utf8"));
    const response = await fetch(`${stack.url}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await jsonOf(response);
    expect(body).toMatchObject({
      status: "ok",
      device: "cpu",
      model: card.id,
      version: packageVersion,
      runtime: expect.stringMatching(/^onnxruntime-node 1\.\d+\.\d+$/),
      input_size: 448,
      embedding_dim: card.embeddingDim,
    });
  });

  it("echoes X-Request-Id as a header and in the body, and generates one when absent", async () => {
    const given = await fetch(`${stack.url}/health`, { headers: { "X-Request-Id": "gui-42" } });
    expect(given.headers.get("x-request-id")).toBe("gui-42");
    expect((await jsonOf(given)).request_id).toBe("gui-42");

    const generated = await fetch(`${stack.url}/health`);
    const id = generated.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await jsonOf(generated)).request_id).toBe(id);
  });

  it("created the models bucket in the embedded S3 server", async () => {
    const s3 = new S3Client({ endpoint: stack.s3Endpoint, region: "us-east-1", forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const buckets = await s3.send(new ListBucketsCommand({}));
    expect(buckets.Buckets?.map((b) => b.Name)).toContain(stack.bucket);
  });
});

describe("local stack with a model that cannot be loaded", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ MODEL_NAME: "no-such-model" });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("answers 503 with a JSON error naming the model, and no stack trace", async () => {
    const response = await fetch(`${stack.url}/health`);
    expect(response.status).toBe(503);
    const body = await jsonOf(response);
    expect(body.error).toContain("no-such-model");
    expect(JSON.stringify(body)).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(body.request_id).toBe(response.headers.get("x-request-id"));
  });
});

import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { routes } from "../../lib/contract/routes";
import { CorruptArtefactError, InvalidInputError, UnavailableError } from "../../lib/errors";
import { httpRoute } from "../../lib/http/route";
import { parseMultipart } from "../../lib/http/multipart";
import { createObservability } from "../../lib/observability/create";

function event(headers: Record<string, string> = {}, body = "", isBase64Encoded = false): APIGatewayProxyEvent {
  return {
    resource: "/x",
    path: "/x",
    httpMethod: "POST",
    headers,
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: { requestId: "apigw-1" } as APIGatewayProxyEvent["requestContext"],
    body,
    isBase64Encoded,
  };
}
const context = { awsRequestId: "lambda-1", getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

function edge() {
  const lines: Record<string, unknown>[] = [];
  const observability = createObservability({ service: "test", logLevel: "debug", debugSampleRate: 0, metrics: false }, (line) =>
    lines.push(JSON.parse(line) as Record<string, unknown>),
  );
  return { lines, edge: { observability, limits: { maxFiles: 4, maxFileBytes: 1000, maxRequestBytes: 5000 } } };
}

describe("the HTTP edge (lib/http/route.ts)", () => {
  it("answers an unexpected exception with a generic 500 and logs its whole cause chain", async () => {
    const { lines, edge: e } = edge();
    const handler = httpRoute(routes.health, e, async () => {
      throw new TypeError("undefined is not a function", { cause: new Error("deep reason") });
    });
    const res = await handler(event({ "X-Request-Id": "r-1" }), context);
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: "Internal server error", code: "internal", request_id: "r-1" });
    const logged = lines.find((l) => l.message === "request failed")!;
    expect(logged).toMatchObject({ level: "ERROR", status: 500, request_id: "r-1", apigw_request_id: "apigw-1", lambda_request_id: "lambda-1" });
    expect(logged.causes).toEqual([
      expect.objectContaining({ name: "TypeError", message: "undefined is not a function", stack: expect.stringContaining("TypeError") }),
      expect.objectContaining({ name: "Error", message: "deep reason" }),
    ]);
  });

  it.each([
    [new InvalidInputError("bad field"), 400, "invalid_input", "WARN"],
    [new UnavailableError("S3 is down; try again", { cause: new Error("ECONNREFUSED") }), 503, "unavailable", "ERROR"],
    [new CorruptArtefactError("models/x.npz", new Error("bad magic")), 503, "corrupt_artefact", "ERROR"],
  ] as const)("maps %p to its status with the code, message exposed", async (error, status, code, level) => {
    const { lines, edge: e } = edge();
    const res = await httpRoute(routes.health, e, async () => Promise.reject(error))(event(), context);
    expect(res.statusCode).toBe(status);
    const body = JSON.parse(res.body) as Record<string, string>;
    expect(body).toMatchObject({ error: error.message, code });
    expect(res.headers!["X-Request-Id"]).toBe(body.request_id);
    expect(lines.find((l) => l.status === status)!.level).toBe(level);
  });
});

describe("multipart limits (busboy)", () => {
  const boundary = "b0undary";
  const multipart = (parts: string[]) => Buffer.from(parts.map((p) => `--${boundary}\r\n${p}\r\n`).join("") + `--${boundary}--\r\n`);
  const field = (name: string, value: string) => `Content-Disposition: form-data; name="${name}"\r\n\r\n${value}`;
  const limits = { maxFiles: 2, maxFileBytes: 1000, maxRequestBytes: 200_000 };
  const parse = (body: Buffer) => parseMultipart(event({ "Content-Type": `multipart/form-data; boundary=${boundary}` }, body.toString("base64"), true), limits);

  it("refuses more than 200 fields with a 413 that says so", async () => {
    await expect(parse(multipart(Array.from({ length: 201 }, (_, i) => field(`f${i}`, "x"))))).rejects.toThrow(/Too many fields: at most 200 per request/);
    await expect(parse(multipart(Array.from({ length: 200 }, (_, i) => field(`f${i}`, "x"))))).resolves.toBeDefined();
  });

  it("refuses a text field over 64 KiB", async () => {
    await expect(parse(multipart([field("shape", "x".repeat(64 * 1024 + 1))]))).rejects.toThrow(/Field shape is over the limit of 65536 bytes/);
  });

  it("refuses more files than allowed", async () => {
    const filePart = (i: number) => `Content-Disposition: form-data; name="images"; filename="${i}.png"\r\nContent-Type: image/png\r\n\r\nabc`;
    await expect(parse(multipart([filePart(1), filePart(2), filePart(3)]))).rejects.toThrow(/Too many files: at most 2 per request/);
  });
});

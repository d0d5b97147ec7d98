import { postRaw } from "../helpers/api";
import { jsonOf } from "../helpers/http";
import { sharedStack, type TestStack } from "../helpers/testStack";

const B = "----crashTestBoundary7MA4YWxk";
const TYPE = `multipart/form-data; boundary=${B}`;
const text = (name: string, value: string) => `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const fileHead = (name: string, filename: string) =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/png\r\n\r\n`;
const ids = text("role_id", "Crash") + text("roi_id", "Test") + text("mm_per_px", "0.1");
const bytes = Buffer.from("\x89PNG\r\n\x1a\n" + "x".repeat(2000), "latin1");

/** Bodies busboy cannot finish; before the fix, the first one (an unterminated file) ended the process. */
const MALFORMED: [string, Buffer][] = [
  ["a file part with no closing boundary", Buffer.concat([Buffer.from(ids + fileHead("images", "a.png")), bytes])],
  [
    "a second file part with no closing boundary",
    Buffer.concat([Buffer.from(ids + fileHead("images", "a.png")), bytes, Buffer.from("\r\n" + fileHead("images", "b.png")), bytes]),
  ],
  ["a text part with no closing boundary", Buffer.from(text("role_id", "Crash") + `--${B}\r\nContent-Disposition: form-data; name="roi_id"\r\n\r\nTest`)],
  ["garbage after a boundary", Buffer.from(ids + `--${B}garbage\r\n\x00\x01\x02 not a part`)],
  ["a body written with another boundary", Buffer.from(text("role_id", "x").replaceAll(B, "OtherBoundary") + "--OtherBoundary--\r\n")],
  ["part headers cut short", Buffer.from(ids + `--${B}\r\nContent-Disposition: form-da`)],
  [
    "file part headers with no blank line",
    Buffer.from(ids + `--${B}\r\nContent-Disposition: form-data; name="images"; filename="a.png"\r\nContent-Type: image/png`),
  ],
  ["a part header line without a colon", Buffer.from(ids + `--${B}\r\nthis is not a header\r\n\r\nvalue\r\n--${B}--\r\n`)],
  ["an empty body", Buffer.alloc(0)],
];

let stack: TestStack;
/** The shared stack's output before this file's first request: its own lines come after. */
let logStart = 0;

beforeAll(async () => {
  stack = await sharedStack("main");
  logStart = stack.output().length;
}, 180_000);

describe("malformed multipart bodies over HTTP: a 400 JSON each, and the process keeps serving", () => {
  it.each(MALFORMED.flatMap(([name, body]) => ["/fit_ok", "/infer"].map((path) => [path, name, body] as const)))("%s: %s -> 400", async (path, _name, body) => {
    const res = await postRaw(`${stack.url}${path}`, TYPE, body);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(Object.keys(res.body).sort()).toEqual(["code", "error", "request_id"]);
    expect(res.body.code).toBe("invalid_input");
    expect(res.body.error).toMatch(/^Malformed multipart body: /);
    // the same process still answers
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(200);
    expect((await jsonOf(health)).status).toBe("ok");
  });

  it("logged no uncaught exception and still serves after the whole battery", async () => {
    expect(stack.output().slice(logStart)).not.toMatch(/uncaught|unhandled/i);
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(200);
  });
});

describe("bodies over the limits: the service's JSON 413 up to the gateway's 10 MB, the gateway's JSON 413 above", () => {
  const form = (bytes: number) => {
    const body = new FormData();
    body.append("role_id", "Big");
    body.append("roi_id", "Body");
    body.append("mm_per_px", "0.1");
    body.append("images", new Blob([Buffer.alloc(bytes, 7)], { type: "image/png" }), "big.png");
    return body;
  };

  it.each([
    [
      "over the service's limit (MAX_REQUEST_BYTES, 4400000 by default), under the gateway's",
      8 * 1024 * 1024,
      /^Request body is \d+ bytes, over the limit of 4400000 bytes/,
    ],
    ["over API Gateway's (and serverless-offline's) 10 MB", 11 * 1024 * 1024, /^Request body over API Gateway's 10 MB limit/],
  ])("%s -> 413 JSON {error, code, request_id}", async (_name, bytes, message) => {
    const response = await fetch(`${stack.url}/fit_ok`, { method: "POST", body: form(bytes) });
    expect(response.status).toBe(413);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await jsonOf(response);
    expect(Object.keys(body).sort()).toEqual(["code", "error", "request_id"]);
    expect(body.error).toMatch(message);
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("an unknown route -> JSON {error, code, request_id} (the gateway's default 4XX shape)", async () => {
    const response = await fetch(`${stack.url}/no_such_route`, { method: "POST", body: "{}" });
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await jsonOf(response)).toEqual({
      error: "No route for POST /no_such_route",
      code: "gateway",
      request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });
});

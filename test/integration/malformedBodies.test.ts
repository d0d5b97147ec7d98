import { postRaw } from "../helpers/api";
import { jsonOf } from "../helpers/http";
import { startTestStack, type TestStack } from "../helpers/testStack";

const B = "----crashTestBoundary7MA4YWxk";
const TYPE = `multipart/form-data; boundary=${B}`;
const text = (name: string, value: string) => `--${B}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const fileHead = (name: string, filename: string) => `--${B}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: image/png\r\n\r\n`;
const ids = text("role_id", "Crash") + text("roi_id", "Test") + text("mm_per_px", "0.1");
const bytes = Buffer.from("\x89PNG\r\n\x1a\n" + "x".repeat(2000), "latin1");

/** Bodies busboy cannot finish; before the fix, the first one (an unterminated file) ended the process. */
const MALFORMED: [string, Buffer][] = [
  ["a file part with no closing boundary", Buffer.concat([Buffer.from(ids + fileHead("images", "a.png")), bytes])],
  ["a second file part with no closing boundary", Buffer.concat([Buffer.from(ids + fileHead("images", "a.png")), bytes, Buffer.from("\r\n" + fileHead("images", "b.png")), bytes])],
  ["a text part with no closing boundary", Buffer.from(text("role_id", "Crash") + `--${B}\r\nContent-Disposition: form-data; name="roi_id"\r\n\r\nTest`)],
  ["garbage after a boundary", Buffer.from(ids + `--${B}garbage\r\n\x00\x01\x02 not a part`)],
  ["a body written with another boundary", Buffer.from(text("role_id", "x").replaceAll(B, "OtherBoundary") + "--OtherBoundary--\r\n")],
  ["part headers cut short", Buffer.from(ids + `--${B}\r\nContent-Disposition: form-da`)],
  ["file part headers with no blank line", Buffer.from(ids + `--${B}\r\nContent-Disposition: form-data; name="images"; filename="a.png"\r\nContent-Type: image/png`)],
  ["a part header line without a colon", Buffer.from(ids + `--${B}\r\nthis is not a header\r\n\r\nvalue\r\n--${B}--\r\n`)],
  ["an empty body", Buffer.alloc(0)],
];

describe("malformed multipart bodies over HTTP: a 400 JSON each, and the process keeps serving", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it.each(MALFORMED.flatMap(([name, body]) => ["/fit_ok", "/infer"].map((path) => [path, name, body] as const)))(
    "%s: %s -> 400",
    async (path, _name, body) => {
      const res = await postRaw(`${stack.url}${path}`, TYPE, body);
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(Object.keys(res.body).sort()).toEqual(["error", "request_id"]);
      expect(res.body.error).toMatch(/^Malformed multipart body: /);
      // the same process still answers
      const health = await fetch(`${stack.url}/health`);
      expect(health.status).toBe(200);
      expect((await jsonOf(health)).status).toBe("ok");
    },
  );

  it("logged no uncaught exception and still serves after the whole battery", async () => {
    expect(stack.output()).not.toMatch(/uncaught|unhandled/i);
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(200);
  });
});

import http from "node:http";
import { fetchJson, postForm } from "../helpers/api";
import { startTestStack, type TestStack } from "../helpers/testStack";

/** A GET from a chosen loopback source address (127.0.0.2 is another client than 127.0.0.1). */
function getFrom(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { localAddress, headers }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    request.on("error", reject);
  });
}

describe("API key on a stage that enforces it locally (serverless offline, as API Gateway does)", () => {
  let stack: TestStack;
  const key = "test-key-0123456789abcdef";
  beforeAll(async () => {
    stack = await startTestStack({ LOCAL_API_KEY: key }, { params: { enforceLocally: "true" } });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("answers 403 without the key, in the service's error shape, before any function runs", async () => {
    const res = await fetchJson(`${stack.url}/health`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      error: expect.stringMatching(/^Missing or invalid API key: send this stage's key in the x-api-key header$/),
      code: "gateway",
      request_id: expect.any(String),
    });
    // a POST with a body is refused the same way
    const infer = await postForm(`${stack.url}/infer`, [
      ["role_id", "a"],
      ["roi_id", "b"],
      ["mm_per_px", "0.1"],
    ]);
    expect(infer.status).toBe(403);
    expect(infer.body.code).toBe("gateway");
  });

  it("answers 403 with a wrong key and 200 with the right one", async () => {
    expect((await fetchJson(`${stack.url}/health`, { headers: { "x-api-key": "wrong" } })).status).toBe(403);
    const ok = await fetchJson(`${stack.url}/health`, { headers: { "x-api-key": key } });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe("ok");
  });

  it("serves the documentation without a key", async () => {
    const doc = await fetchJson(`${stack.url}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(doc.body.components.securitySchemes.ApiKey).toMatchObject({ type: "apiKey", in: "header", name: "x-api-key" });
  });
});

describe("source address ranges on a stage without a key (a GUI that cannot send a header)", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({}, { params: { enforceLocally: "true", apiKeyRequired: "false", sourceIpRanges: "127.0.0.1/32" } });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("serves a client inside the ranges without a key", async () => {
    const res = await getFrom(`${stack.url}/health`, "127.0.0.1");
    expect(res.status).toBe(200);
  });

  it("answers 403 to a client outside them, in the service's error shape", async () => {
    const res = await getFrom(`${stack.url}/health`, "127.0.0.2");
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: expect.stringMatching(/^This address may not call the API/), code: "gateway", request_id: expect.any(String) });
    expect((await getFrom(`${stack.url}/openapi.json`, "127.0.0.2")).status).toBe(403); // a resource policy covers every route
  });
});

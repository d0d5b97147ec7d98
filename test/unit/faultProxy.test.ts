import http from "node:http";
import type net from "node:net";
import { FaultProxy } from "../helpers/faultProxy";

/** What the tiny server behind the proxy saw of each request. */
interface Seen {
  line: string;
  bodyBytes: number;
  complete: boolean;
  remotePort: number;
}

describe("FaultProxy (test helper) in front of a tiny HTTP server", () => {
  let server: http.Server;
  let proxy: FaultProxy;
  const seen: Seen[] = [];
  let agent: http.Agent;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const entry: Seen = { line: `${req.method} ${req.url}`, bodyBytes: 0, complete: false, remotePort: req.socket.remotePort! };
      seen.push(entry);
      req.on("data", (chunk: Buffer) => (entry.bodyBytes += chunk.length));
      req.on("end", () => {
        entry.complete = true;
        res.end(`ok ${req.method} ${req.url} ${entry.bodyBytes}`);
      });
      req.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxy = await FaultProxy.start({ port: (server.address() as net.AddressInfo).port });
  });

  afterAll(async () => {
    await proxy.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(async () => {
    seen.length = 0;
    proxy.clearCut();
    await proxy.setMode("pass");
    agent?.destroy();
    // one keep-alive connection for every request of a test, as the S3 client's pool would use
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  });

  afterAll(() => agent.destroy());

  function send(method: string, path: string, body?: Buffer, timeoutMs = 2000): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: proxy.port, method, path, agent, headers: body ? { "Content-Length": body.length } : {} }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode!, text }));
        res.on("error", reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error("client timeout"), { code: "CLIENT_TIMEOUT" })));
      req.on("error", reject);
      req.end(body);
    });
  }

  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => "no error",
      (error: NodeJS.ErrnoException) => error.code,
    );
  const body = Buffer.alloc(10_000, 7);

  it("passes requests and their bodies through, on one keep-alive connection", async () => {
    expect(await send("GET", "/a")).toEqual({ status: 200, text: "ok GET /a 0" });
    expect(await send("PUT", "/b.npz", body)).toEqual({ status: 200, text: "ok PUT /b.npz 10000" });
    expect(proxy.stats.requests.slice(-2)).toEqual(["GET /a HTTP/1.1", "PUT /b.npz HTTP/1.1"]);
    expect(seen[0]!.remotePort).toBe(seen[1]!.remotePort);
  });

  it("refuses connections (nothing listens), then serves again on the same port", async () => {
    const port = proxy.port;
    await proxy.setMode("refuse");
    expect(await codeOf(send("GET", "/a"))).toBe("ECONNREFUSED");
    await proxy.setMode("pass");
    expect(proxy.port).toBe(port);
    expect((await send("GET", "/a")).status).toBe(200);
  });

  it("resets connections at once", async () => {
    await proxy.setMode("reset");
    expect(await codeOf(send("GET", "/a"))).toBe("ECONNRESET");
    expect(seen).toEqual([]);
  });

  it("hangs: accepts, never answers; the client's own timeout ends it", async () => {
    await proxy.setMode("hang");
    const t0 = performance.now();
    expect(await codeOf(send("GET", "/a", undefined, 300))).toBe("CLIENT_TIMEOUT");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(seen).toEqual([]);
  });

  it("ends a keep-alive connection that was open when the mode switched", async () => {
    expect((await send("GET", "/a")).status).toBe(200); // leaves a pooled socket
    await proxy.setMode("hang");
    await proxy.setMode("pass");
    await new Promise((r) => setTimeout(r, 20)); // (a request racing the switch may see the reset itself)
    expect((await send("GET", "/b")).status).toBe(200); // the agent dropped the dead socket and reconnects
    expect(seen[0]!.remotePort).not.toBe(seen[1]!.remotePort);
  });

  it("cuts only the matching request after N bytes, further down a keep-alive connection, and resets it", async () => {
    proxy.cut({ match: /^PUT .*\.npz /, afterBytes: 600, action: "reset" });
    expect((await send("GET", "/first.npz")).status).toBe(200);
    expect((await send("PUT", "/index.hnsw", body)).status).toBe(200);
    expect(await codeOf(send("PUT", "/memory.npz", body))).toBe("ECONNRESET");
    await new Promise((r) => setTimeout(r, 100));
    const cut = seen.find((s) => s.line === "PUT /memory.npz")!;
    expect(cut.complete).toBe(false);
    expect(cut.bodyBytes).toBeGreaterThan(0);
    expect(cut.bodyBytes).toBeLessThan(600);
    expect(seen.find((s) => s.line === "PUT /index.hnsw")).toMatchObject({ complete: true, bodyBytes: 10_000 });
    expect(proxy.stats.cuts).toEqual(["PUT /memory.npz HTTP/1.1"]);
  });

  it("cuts a request after it was relayed whole: the server has it, the client never hears back", async () => {
    proxy.cut({ match: /^PUT /, afterBytes: "all", action: "reset", times: 1 });
    expect(await codeOf(send("PUT", "/m.npz", body))).toBe("ECONNRESET");
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.find((s) => s.line === "PUT /m.npz")).toMatchObject({ complete: true, bodyBytes: 10_000 });
    // times: 1 -> the next one passes
    expect((await send("PUT", "/m.npz", body)).text).toBe("ok PUT /m.npz 10000");
  });

  it("hangs a request after N bytes: the server waits for the rest, the client for an answer", async () => {
    proxy.cut({ match: /^PUT /, afterBytes: 2000, action: "hang" });
    expect(await codeOf(send("PUT", "/m.npz", body, 300))).toBe("CLIENT_TIMEOUT");
    const cut = seen.find((s) => s.line === "PUT /m.npz")!;
    expect(cut.complete).toBe(false);
    expect(cut.bodyBytes).toBeLessThan(2000);
  });
});

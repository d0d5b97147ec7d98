import net from "node:net";
import { GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { loadConfig } from "../../lib/config";
import { createS3Client } from "../../lib/store/s3Client";
import { freePort } from "../../scripts/util/ports";

/** A TCP server that accepts, reads and never answers: a hung S3. Counts connections. */
async function hungServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const clientFor = (port: number, env: Record<string, string>) =>
  createS3Client(
    loadConfig({
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: "x",
      AWS_SECRET_ACCESS_KEY: "y",
      ...env,
    }).s3,
  );

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; error: Error }> {
  const t0 = performance.now();
  try {
    await work();
  } catch (error) {
    return { ms: performance.now() - t0, error: error as Error };
  }
  throw new Error("expected the S3 call to fail");
}

describe("S3 client timeouts (a hung or absent S3 fails fast)", () => {
  beforeAll(() => {
    // the SDK reads credentials from the environment when the config has none
    process.env.AWS_ACCESS_KEY_ID ??= "x";
    process.env.AWS_SECRET_ACCESS_KEY ??= "y";
  });

  it("reads the budget variables with their defaults", () => {
    expect(loadConfig({}).s3).toMatchObject({ timeoutMs: 5000, connectTimeoutMs: 1000, socketTimeoutMs: 2000, maxAttempts: 3 });
    expect(loadConfig({ S3_TIMEOUT_MS: "1500", S3_CONNECT_TIMEOUT_MS: "300", S3_SOCKET_TIMEOUT_MS: "400", S3_MAX_ATTEMPTS: "2" }).s3).toMatchObject({
      timeoutMs: 1500,
      connectTimeoutMs: 300,
      socketTimeoutMs: 400,
      maxAttempts: 2,
    });
  });

  it("retries a server that never answers after each inactivity timeout, inside the total budget", async () => {
    const server = await hungServer();
    try {
      const s3 = clientFor(server.port, { S3_TIMEOUT_MS: "5000", S3_SOCKET_TIMEOUT_MS: "300", S3_MAX_ATTEMPTS: "3" });
      const { ms, error } = await timed(() => s3.send(new HeadObjectCommand({ Bucket: "b", Key: "k" })));
      expect(error.name).toBe("TimeoutError");
      expect(server.connections()).toBe(3); // one connection per attempt: a timed-out socket is not reused
      expect(ms).toBeGreaterThan(3 * 300 - 50);
      expect(ms).toBeLessThan(3000);
    } finally {
      await server.close();
    }
  });

  it("aborts the whole call at S3_TIMEOUT_MS even when the per-attempt timeouts are longer", async () => {
    const server = await hungServer();
    try {
      const s3 = clientFor(server.port, { S3_TIMEOUT_MS: "700", S3_SOCKET_TIMEOUT_MS: "10000" });
      const { ms, error } = await timed(() => s3.send(new GetObjectCommand({ Bucket: "b", Key: "k" })));
      expect(error.name).toBe("AbortError");
      expect(ms).toBeGreaterThan(650);
      expect(ms).toBeLessThan(1500);
      expect(server.connections()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it("fails a refused connection after the standard retries, in well under a second", async () => {
    const port = await freePort(); // nothing listens there
    const s3 = clientFor(port, { S3_MAX_ATTEMPTS: "3" });
    const { ms, error } = await timed(() => s3.send(new HeadObjectCommand({ Bucket: "b", Key: "k" })));
    // (under jest the SDK wraps the socket error, which comes from another realm, keeping its message)
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect((error as { $metadata?: { attempts?: number } }).$metadata?.attempts).toBe(3);
    expect(ms).toBeLessThan(2000);
  });
});

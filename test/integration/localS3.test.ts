import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../lib/config";
import { PreconditionFailed } from "../../lib/store/blobStore";
import { S3BlobStore } from "../../lib/store/s3BlobStore";
import { createS3Client } from "../../lib/store/s3Client";
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from "../../scripts/local/s3Server";
import { freePort } from "../../scripts/util/ports";

/** The S3 semantics the service relies on, as the local S3 server (s3rver, patched) gives them through the real SDK. */
describe("the local S3 server keeps S3's guarantees", () => {
  let s3: LocalS3;
  let dir: string;
  let store: S3BlobStore;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "local-s3-"));
    s3 = await startLocalS3({ directory: dir, bucket: "bkt", port: await freePort() });
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    store = new S3BlobStore(createS3Client(loadConfig({ S3_ENDPOINT: s3.endpoint, MODELS_BUCKET: "bkt" }).s3), "bkt");
  });

  afterAll(async () => {
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("honours If-None-Match: * and If-Match on PUT (412 -> PreconditionFailed)", async () => {
    const first = await store.put("k/index.json", Buffer.from("1"), { contentType: "application/json", ifNoneMatch: "*" });
    await expect(store.put("k/index.json", Buffer.from("2"), { contentType: "application/json", ifNoneMatch: "*" })).rejects.toThrow(PreconditionFailed);
    const second = await store.put("k/index.json", Buffer.from("2"), { contentType: "application/json", ifMatch: first });
    await expect(store.put("k/index.json", Buffer.from("3"), { contentType: "application/json", ifMatch: first })).rejects.toThrow(PreconditionFailed);
    expect(Buffer.from((await store.get("k/index.json"))!.body).toString()).toBe("2");
    expect((await store.head("k/index.json"))!.etag).toBe(second);
  });

  it("serialises concurrent conditional writes: of 8 racing read-modify-writes, retried on 412, none is lost", async () => {
    await store.put("k/counter", Buffer.from("0"), { contentType: "text/plain" });
    const increment = async () => {
      for (;;) {
        const current = (await store.get("k/counter"))!;
        try {
          await store.put("k/counter", Buffer.from(String(Number(Buffer.from(current.body).toString()) + 1)), {
            contentType: "text/plain",
            ifMatch: current.etag,
          });
          return;
        } catch (error) {
          if (!(error instanceof PreconditionFailed)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, increment));
    expect(Buffer.from((await store.get("k/counter"))!.body).toString()).toBe("8");
  });

  it("stores an upload cut short of its Content-Length not at all: the previous object stays", async () => {
    await store.put("k/memory.npz", Buffer.from("previous"), { contentType: "application/octet-stream" });
    const url = new URL(s3.endpoint);
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.write(`PUT /bkt/k/memory.npz HTTP/1.1\r\nHost: ${url.host}\r\nContent-Length: 1000\r\nContent-Type: application/octet-stream\r\n\r\n`);
        socket.write(Buffer.alloc(300, 7));
        setTimeout(() => socket.destroy(), 200);
      });
      socket.on("close", () => resolve());
      socket.on("error", () => undefined);
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(Buffer.from((await store.get("k/memory.npz"))!.body).toString()).toBe("previous");
  });

  it("never pairs an object's new bytes with its old metadata: reads racing rewrites all pass their digest", async () => {
    const { jsonArtefact, parseJsonArtefact } = await import("../../lib/store/jsonArtefact");
    const { z } = await import("zod");
    const schema = z.object({ n: z.number(), pad: z.string() });
    let failures = 0;
    const writes = (async () => {
      for (let n = 0; n < 40; n++) {
        const { body, options } = jsonArtefact({ n, pad: "x".repeat(20_000 + n) });
        await store.put("k/job.json", body, options);
      }
    })();
    const reads = Array.from({ length: 3 }, async () => {
      for (let i = 0; i < 40; i++) {
        const object = await store.get("k/job.json");
        if (object) {
          try {
            parseJsonArtefact("k/job.json", object, schema, "job state");
          } catch {
            failures++;
          }
        }
      }
    });
    await Promise.all([writes, ...reads]);
    expect(failures).toBe(0);
  });

  it("copies, lists a prefix, and takes a presigned PUT", async () => {
    const url = await store.presignPut("uploads/u1", "image/png", 60);
    const put = await fetch(url, { method: "PUT", body: Buffer.from("png bytes"), headers: { "Content-Type": "image/png" } });
    expect(put.status).toBe(200);
    expect(await store.copy("uploads/u1", "datasets/x.png", { contentType: "image/png", metadata: { sha256: "abc" } })).toBe(true);
    expect(await store.copy("uploads/none", "datasets/y.png", { contentType: "image/png" })).toBe(false);
    expect((await store.head("datasets/x.png"))!.metadata).toMatchObject({ sha256: "abc" });
    expect((await store.list("uploads/")).map((o) => o.key)).toEqual(["uploads/u1"]);
    const get = await fetch(await store.presignGet!("datasets/x.png", 60));
    expect(Buffer.from(await get.arrayBuffer()).toString()).toBe("png bytes");
  });
});

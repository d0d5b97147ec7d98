import { createHash, randomUUID } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import S3rver from "s3rver";

/** Credentials s3rver accepts (it checks signatures against these). */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface LocalS3 {
  readonly endpoint: string;
  close(): Promise<void>;
}

interface S3rverObject {
  content: NodeJS.ReadableStream | Buffer;
  metadata: Record<string, string>;
}

interface S3rverStore {
  putObject(object: S3rverObject & { bucket: string; key: string }): Promise<{ size: number; md5: string }>;
  getResourcePath(bucket: string, key: string, resourceType: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
}

/**
 * S3 stores an object whole or not at all, and a reader sees the old bytes or the new ones: a
 * PUT whose body stops short of its Content-Length is refused (400 IncompleteBody) and the
 * previous object stays. s3rver streams the body into the object's file as it arrives, so a cut
 * upload leaves a truncated file in place of the previous object, and a GET during a PUT reads
 * a half-written file. This reads the whole body first, refuses it when incomplete, and
 * replaces the file by a rename, so the local store keeps the guarantees the service relies on.
 */
function makeUploadsAllOrNothing(server: S3rver): void {
  const store = (server as unknown as { store: S3rverStore }).store;
  store.putObject = async (object) => {
    let body: Buffer;
    if (Buffer.isBuffer(object.content)) body = object.content;
    else {
      const chunks: Buffer[] = [];
      for await (const chunk of object.content) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      body = Buffer.concat(chunks);
    }
    const expected = Number(object.metadata["content-length"]);
    if (Number.isFinite(expected) && body.length !== expected) {
      throw Object.assign(new Error(`IncompleteBody: ${body.length} of ${expected} bytes received; nothing stored`), { code: "IncompleteBody", status: 400 });
    }
    const objectPath = store.getResourcePath(object.bucket, object.key, "object");
    await mkdir(path.dirname(objectPath), { recursive: true });
    const temporary = `${objectPath}.${randomUUID()}.partial`;
    await writeFile(temporary, body);
    await rename(temporary, objectPath);
    const md5 = createHash("md5").update(body).digest("hex");
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: body.length, md5 };
  };
}

type KoaMiddleware = (
  ctx: { method: string; path: string; get(name: string): string; status: number; type: string; body: unknown },
  next: () => Promise<void>,
) => Promise<void>;

/**
 * One operation at a time per object, and conditional writes. S3 serves a reader the old object
 * or the new one, whole: s3rver keeps an object's bytes and its metadata (ETag, user metadata
 * such as the SHA-256 the service checks) in separate files, so a GET between a PUT's two writes
 * would pair new bytes with old metadata. Every request on one key therefore waits for the one
 * before it (a GET holds the key while it reads the metadata and opens the bytes). S3 also honours
 * If-Match and If-None-Match on PutObject (412 PreconditionFailed when the object changed), which
 * s3rver ignores; the service relies on them for read-modify-write of small shared objects
 * (dataset indexes, recipe locks), so they are checked here, inside the key's turn.
 */
function serialiseObjectRequests(server: S3rver): void {
  const app = server as unknown as { middleware: KoaMiddleware[]; store: { getMetadata(bucket: string, key: string): Promise<{ etag: string }> } };
  const queues = new Map<string, Promise<void>>();
  app.middleware.unshift(async (ctx, next) => {
    const [, bucket, ...rest] = ctx.path.split("/");
    if (!bucket || rest.length === 0 || rest.join("/") === "") return next(); // bucket-level requests (list, create)
    const key = rest.map(decodeURIComponent).join("/");
    const id = `${bucket}/${key}`;
    const previous = queues.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    queues.set(id, chained);
    await previous;
    try {
      const ifMatch = ctx.get("if-match");
      const ifNoneMatch = ctx.get("if-none-match");
      if (ctx.method === "PUT" && (ifMatch || ifNoneMatch)) {
        const current = await app.store.getMetadata(bucket, key).then(
          (m) => m.etag,
          () => null,
        );
        if ((ifNoneMatch === "*" && current !== null) || (ifMatch !== "" && current !== ifMatch)) {
          ctx.status = 412;
          ctx.type = "application/xml";
          ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Key>${key}</Key></Error>`;
          return;
        }
      }
      await next();
    } finally {
      release();
      if (queues.get(id) === chained) queues.delete(id);
    }
  });
}

const BUCKET_CORS = `<CORSConfiguration>
  <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>Content-Type</AllowedHeader><MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule>
</CORSConfiguration>`;

/**
 * An S3-compatible server in this process (s3rver), its objects kept as files in `directory`
 * so models survive restarts; `bucket` is created when missing.
 */
export async function startLocalS3(options: { directory: string; bucket: string; port: number; host?: string }): Promise<LocalS3> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: options.host ?? "127.0.0.1",
    port: options.port,
    directory: options.directory,
    silent: true,
    vhostBuckets: false,
    // as the deployed bucket's CorsConfiguration (serverless.yml): browsers PUT presigned uploads straight to it
    configureBuckets: [{ name: options.bucket, configs: [BUCKET_CORS] }],
  });
  makeUploadsAllOrNothing(server);
  serialiseObjectRequests(server);
  const address = await server.run();
  return { endpoint: `http://${address.address}:${address.port}`, close: () => server.close() };
}

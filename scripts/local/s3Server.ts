import { mkdir } from "node:fs/promises";
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

/**
 * S3 stores an object whole or not at all: a PUT whose body stops short of its Content-Length
 * is refused (400 IncompleteBody) and the previous object stays. s3rver streams the body into
 * the object's file as it arrives, so a cut upload would leave a truncated file in place of the
 * previous object. This reads the whole body first and stores it only when it is complete, so
 * the local store keeps S3's guarantee that the service relies on.
 */
function makeUploadsAllOrNothing(server: S3rver): void {
  const store = (server as unknown as { store: { putObject(object: S3rverObject): Promise<unknown> } }).store;
  const putObject = store.putObject.bind(store);
  store.putObject = async (object) => {
    if (Buffer.isBuffer(object.content)) return putObject(object);
    const chunks: Buffer[] = [];
    for await (const chunk of object.content) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    const body = Buffer.concat(chunks);
    const expected = Number(object.metadata["content-length"]);
    if (Number.isFinite(expected) && body.length !== expected) {
      throw Object.assign(new Error(`IncompleteBody: ${body.length} of ${expected} bytes received; nothing stored`), { code: "IncompleteBody", status: 400 });
    }
    return putObject({ ...object, content: body });
  };
}

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
    configureBuckets: [{ name: options.bucket }],
  });
  makeUploadsAllOrNothing(server);
  const address = await server.run();
  return { endpoint: `http://${address.address}:${address.port}`, close: () => server.close() };
}

import { mkdir } from "node:fs/promises";
import S3rver from "s3rver";

/** Credentials s3rver accepts (it checks signatures against these). */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface LocalS3 {
  readonly endpoint: string;
  close(): Promise<void>;
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
  const address = await server.run();
  return { endpoint: `http://${address.address}:${address.port}`, close: () => server.close() };
}

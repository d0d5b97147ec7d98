import { CreateBucketCommand, HeadBucketCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import type { Config } from "../config";

/**
 * The S3 client for AWS, LocalStack or the embedded s3rver alike: only the endpoint differs.
 * Checksums only when an operation requires them: s3rver stores streamed bodies with the SDK's
 * default CRC trailers corrupted (TOOLCHAIN.md), and AWS accepts both.
 */
export function createS3Client(s3: Config["s3"]): S3Client {
  return new S3Client({
    region: s3.region,
    ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
    forcePathStyle: s3.forcePathStyle,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** Creates `bucket` if it does not exist (local stacks only: in AWS the stack owns the bucket). */
export async function ensureBucket(client: S3Client, bucket: string): Promise<"exists" | "created"> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return "exists";
  } catch (error) {
    const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
    if (status !== 404) throw error;
  }
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return "created";
}

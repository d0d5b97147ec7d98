import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { S3RVER_CREDENTIALS } from "../../scripts/local/s3Server";
import { jsonOf } from "./http";

export type FormValue = string | { filename: string; data: Uint8Array; type?: string };

/** multipart/form-data as fetch (browsers, curl -F) sends it: fields in the given order. */
export async function postForm(url: string, fields: [string, FormValue][], headers: Record<string, string> = {}) {
  const form = new FormData();
  for (const [name, value] of fields) {
    if (typeof value === "string") form.append(name, value);
    else form.append(name, new Blob([value.data], { type: value.type ?? "image/png" }), value.filename);
  }
  const response = await fetch(url, { method: "POST", body: form, headers });
  return { status: response.status, headers: response.headers, body: await jsonOf(response) };
}

export async function postRaw(url: string, contentType: string, body: Uint8Array | string, headers: Record<string, string> = {}, method = "POST") {
  const response = await fetch(url, { method, body, headers: { "Content-Type": contentType, ...headers } });
  return { status: response.status, headers: response.headers, body: await jsonOf(response) };
}

export async function fetchJson(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: await jsonOf(response) };
}

export async function postJson(url: string, value: unknown, headers: Record<string, string> = {}) {
  return postRaw(url, "application/json", JSON.stringify(value), headers);
}

export function s3Of(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** Every object in the bucket with its ETag: what "nothing stored changed" is checked against. */
export async function bucketSnapshot(s3: S3Client, bucket: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out[o.Key!] = o.ETag!;
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

export async function putObject(s3: S3Client, bucket: string, key: string, body: Uint8Array, metadata: Record<string, string> = {}): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
}

export async function getObject(s3: S3Client, bucket: string, key: string): Promise<{ body: Uint8Array; metadata: Record<string, string> }> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { body: await out.Body!.transformToByteArray(), metadata: out.Metadata ?? {} };
}

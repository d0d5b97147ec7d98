import type { z } from "zod";
import { CorruptArtefactError } from "../errors";
import type { PutOptions, StoredBlob } from "./blobStore";
import { DIGEST_METADATA, sha256Hex, verifyDigest } from "./integrity";

/**
 * A small JSON object the service stored (a calibration, a recipe's settings, a dataset's catalog,
 * a job's state), read back: its digest checked, then parsed and validated by `schema`. Anything
 * else is a CorruptArtefactError naming the key and what is wrong.
 */
export function parseJsonArtefact<S extends z.ZodType>(key: string, object: StoredBlob, schema: S, what: string): z.output<S> {
  verifyDigest(key, object, what);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(object.body).toString("utf8"));
  } catch (cause) {
    throw new CorruptArtefactError(key, cause, what);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new CorruptArtefactError(key, new Error(result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")), what);
  return result.data;
}

/** A value as the bytes and put options of a JSON artefact (with its digest). */
export function jsonArtefact(
  value: unknown,
  options: Omit<PutOptions, "contentType" | "metadata"> = {},
  pretty = false,
): { body: Buffer; options: PutOptions } {
  const body = Buffer.from(pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value));
  return { body, options: { contentType: "application/json", metadata: { [DIGEST_METADATA]: sha256Hex(body) }, ...options } };
}

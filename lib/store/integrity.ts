import { createHash } from "node:crypto";
import { CorruptArtefactError } from "../errors";
import type { StoredBlob } from "./blobStore";

/** Object-metadata name of the SHA-256 of an object's bytes, written with every artefact this service stores. */
export const DIGEST_METADATA = "sha256";

export function sha256Hex(body: Uint8Array): string {
  return createHash("sha256").update(body).digest("hex");
}

/**
 * Checks an object read back against the digest written with it: a truncated or altered object
 * (a cut upload on a store that writes in place, a bit flip, a hand-edited file) is a
 * CorruptArtefactError naming the key. Objects without a digest (written by the old backend, or
 * by hand) are accepted as they are: their decoder still validates their structure.
 */
export function verifyDigest(key: string, object: StoredBlob, what: string): void {
  const expected = object.metadata[DIGEST_METADATA];
  if (expected === undefined) return;
  const actual = sha256Hex(object.body);
  if (actual !== expected) {
    throw new CorruptArtefactError(key, new Error(`its ${object.body.length} bytes do not match the SHA-256 written with it (truncated or altered)`), what);
  }
}

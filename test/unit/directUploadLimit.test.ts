import path from "node:path";
import { randomUUID } from "node:crypto";
import { commitUploads } from "../../lib/app/datasets/directUploads";
import { createServices } from "../../lib/app/services";
import { loadConfig } from "../../lib/config";
import { standaloneContext } from "../../lib/context";
import { parseWith } from "../../lib/contract/parse";
import { routes } from "../../lib/contract/routes";
import { TooLargeError } from "../../lib/errors";
import { createLogger } from "../../lib/log";
import { uploadKey } from "../../lib/store/keys";
import { MemoryBlobStore } from "../../lib/store/memoryBlobStore";
import { brushedMetal, encodePng } from "../../scripts/synthetic/images";
import { PROJECT_ROOT } from "../helpers/testStack";

/** A presigned PUT takes any size: the commit checks it (MAX_UPLOAD_BYTES) before reading the bytes. */
describe("a direct upload over MAX_UPLOAD_BYTES", () => {
  it("is refused at the commit (413 too_large, naming the limit) before it is read, and nothing enters the dataset", async () => {
    const store = new MemoryBlobStore();
    const services = createServices(
      loadConfig({ MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), MODEL_NAME: "texture-s14", LOG_LEVEL: "silent", MAX_UPLOAD_BYTES: "20000" }),
      { blobStore: store },
    );
    const small = await encodePng(brushedMetal(32, 24, 1));
    // a valid PNG followed by junk: its header and pixels decode, its size does not fit
    const padded = Buffer.concat([small, Buffer.alloc(30_000)]);
    const [a, b] = [randomUUID(), randomUUID()];
    await store.put(uploadKey(services.config.s3.prefix, a), small, { contentType: "image/png" });
    await store.put(uploadKey(services.config.s3.prefix, b), padded, { contentType: "image/png" });
    const before = store.keys();
    const commit = commitUploads(
      services,
      parseWith(routes.datasetsUploadsCommit.request, { role_id: "R", roi_id: "Roi", label: "ok", uploads: [{ upload_id: a }, { upload_id: b }] }),
      standaloneContext(createLogger("silent")),
    );
    await expect(commit).rejects.toThrow(TooLargeError);
    await expect(commit).rejects.toThrow(`uploads[1]: ${padded.length} bytes is over the limit of 20000 bytes per upload (MAX_UPLOAD_BYTES)`);
    expect(store.keys()).toEqual(before);
  });
});

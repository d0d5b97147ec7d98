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
import { Timings } from "../../lib/util/timings";
import { brushedMetal, encodePng } from "../../scripts/synthetic/images";
import { PROJECT_ROOT } from "../helpers/testStack";

/** Committing direct uploads (use case over an S3-like store, real image checks). */
describe("direct upload commits", () => {
  // a presigned PUT takes any size: the commit checks it (MAX_UPLOAD_BYTES) before reading the bytes
  it("refuses an upload over MAX_UPLOAD_BYTES (413 too_large, naming the limit) before it is read, and nothing enters the dataset", async () => {
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

  it("adds nothing twice when a commit is retried (its scratch objects not yet removed, or already gone)", async () => {
    /** Removing an upload's scratch object fails, as after a timeout between the catalog write and the deletes. */
    class StickyUploads extends MemoryBlobStore {
      sticky = true;
      override async delete(key: string): Promise<void> {
        if (this.sticky && key.includes("/uploads/")) throw new Error("S3 unreachable (test)");
        return super.delete(key);
      }
    }
    const store = new StickyUploads();
    const services = createServices(
      loadConfig({ MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), MODEL_NAME: "texture-s14", LOG_LEVEL: "silent" }),
      { blobStore: store },
    );
    const ids = [randomUUID(), randomUUID()];
    for (const [k, id] of ids.entries())
      await store.put(uploadKey(services.config.s3.prefix, id), await encodePng(brushedMetal(32, 24, k + 1)), { contentType: "image/png" });
    const commit = () =>
      commitUploads(
        services,
        parseWith(routes.datasetsUploadsCommit.request, { role_id: "R", roi_id: "Roi", label: "ok", uploads: ids.map((upload_id) => ({ upload_id })) }),
        standaloneContext(createLogger("silent")),
      );
    const first = await commit();
    expect(first.saved).toHaveLength(2);
    expect(await commit()).toMatchObject({ saved: first.saved }); // the scratch objects still there
    store.sticky = false;
    expect(await commit()).toMatchObject({ saved: first.saved }); // removed by that commit
    expect(await commit()).toMatchObject({ saved: first.saved }); // gone
    const catalog = (await services.datasets.catalog({ roleId: "R", roiId: "Roi", recipeId: "default" }, new Timings())).catalog;
    expect(catalog.files.map((f) => f.filename).sort()).toEqual([...first.saved].sort());
    expect(store.keys().filter((k) => k.includes("/uploads/"))).toEqual([]);
  });
});

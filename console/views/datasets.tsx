import { useEffect, useState } from "preact/hooks";
import { call, client, putWithProgress } from "../api";
import { DatasetImage, Progress, Section } from "../components";
import { datasetIds, type ModelIds } from "../model";

type Label = "ok" | "ng";
const LABELS: readonly Label[] = ["ok", "ng"];
const SHOWN = 48;

interface Listing {
  readonly ok: string[];
  readonly ng: string[];
}

interface UploadState {
  readonly label: Label;
  readonly files: { name: string; size: number; sent: number; error?: string }[];
  committed: boolean;
}

/** Good images (image/png, image/jpeg) among what was dropped or picked. */
function imagesOf(list: FileList | null): File[] {
  return [...(list ?? [])].filter((f) => f.type === "image/png" || f.type === "image/jpeg");
}

/**
 * Uploads straight to S3 (presigned PUTs, 4 at a time, each with its progress), then one commit
 * that enters them all in the dataset's catalog.
 */
async function uploadFiles(ids: ModelIds, label: Label, files: File[], mmPerPx: number | null, onState: (state: UploadState) => void): Promise<void> {
  const api = client();
  const state: UploadState = { label, files: files.map((f) => ({ name: f.name, size: f.size, sent: 0 })), committed: false };
  const publish = () => onState({ ...state, files: state.files.map((f) => ({ ...f })) });
  publish();
  for (let start = 0; start < files.length; start += 500) {
    const batch = files.slice(start, start + 500);
    const links = await call(
      api.createUploads({ ...datasetIds(ids), label, files: batch.map((f) => ({ filename: f.name, content_type: f.type as "image/png" | "image/jpeg" })) }),
    );
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < batch.length) {
          const i = next++;
          const upload = links.uploads[i]!;
          try {
            await putWithProgress(upload.url, upload.headers, batch[i]!, (sent) => {
              state.files[start + i]!.sent = sent;
              publish();
            });
            state.files[start + i]!.sent = batch[i]!.size;
          } catch (error) {
            state.files[start + i]!.error = (error as Error).message;
          }
          publish();
        }
      }),
    );
    const uploaded = links.uploads.filter((_, i) => state.files[start + i]!.error === undefined);
    if (uploaded.length > 0) {
      await call(
        api.commitUploads({
          ...datasetIds(ids),
          label,
          uploads: uploaded.map((u) => {
            const file = batch[links.uploads.indexOf(u)]!;
            return { upload_id: u.upload_id, meta: { filename: file.name, ...(mmPerPx ? { mm_per_px: mmPerPx } : {}) } };
          }),
        }),
      );
    }
  }
  state.committed = true;
  publish();
}

function UploadProgress({ state }: { state: UploadState }) {
  const total = state.files.reduce((s, f) => s + f.size, 0);
  const sent = state.files.reduce((s, f) => s + Math.min(f.sent, f.size), 0);
  return (
    <div class="uploads" aria-live="polite">
      <Progress
        label={`${state.label.toUpperCase()}: ${state.files.length} files, bytes sent${state.committed ? " (committed)" : ""}`}
        done={sent}
        total={total}
      />
      <ul class="upload-files">
        {state.files.map((f) => (
          <li>
            <Progress label={f.error ? `${f.name}: ${f.error}` : f.name} done={Math.min(f.sent, f.size)} total={f.size} />
          </li>
        ))}
      </ul>
    </div>
  );
}

function DropZone({ label, onFiles }: { label: Label; onFiles: (files: File[]) => void }) {
  const [over, setOver] = useState(false);
  const id = `pick-${label}`;
  return (
    <div
      class={over ? "drop over" : "drop"}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        onFiles(imagesOf(e.dataTransfer?.files ?? null));
      }}
    >
      <label for={id}>
        Drop {label.toUpperCase()} images here, or <span class="link">choose files</span>
      </label>
      <input
        id={id}
        type="file"
        accept="image/png,image/jpeg"
        multiple
        class="visually-hidden"
        onChange={(e) => {
          const input = e.target as HTMLInputElement;
          onFiles(imagesOf(input.files));
          input.value = "";
        }}
      />
    </div>
  );
}

/** The ROI's dataset: thumbnails of its OK and NG images, uploads straight to S3, delete one, clear a class. */
export function DatasetsView({ ids, onError }: { ids: ModelIds; onError: (e: unknown) => void }) {
  const [listing, setListing] = useState<Listing | null>(null);
  const [stamp, setStamp] = useState(0);
  const [upload, setUpload] = useState<UploadState | null>(null);
  const [mmPerPx, setMmPerPx] = useState("");
  const [shown, setShown] = useState<Record<Label, number>>({ ok: SHOWN, ng: SHOWN });

  useEffect(() => {
    call(client().listDataset(datasetIds(ids)))
      .then((l) => setListing({ ok: l.classes.ok?.files ?? [], ng: l.classes.ng?.files ?? [] }))
      .catch(onError);
  }, [ids, stamp]);

  const start = (label: Label, files: File[]) => {
    if (files.length === 0) return;
    const scale = mmPerPx.trim() === "" ? null : Number(mmPerPx);
    uploadFiles(ids, label, files, scale !== null && scale > 0 ? scale : null, setUpload)
      .catch(onError)
      .finally(() => setStamp((s) => s + 1));
  };
  const remove = async (label: Label, filename: string) => {
    if (!confirm(`Delete ${label}/${filename} from the dataset?`)) return;
    await call(client().deleteDatasetFile({ ...datasetIds(ids), label, filename })).catch(onError);
    setStamp((s) => s + 1);
  };
  const clear = async (label: Label) => {
    if (!confirm(`Delete every ${label.toUpperCase()} image of this ROI's dataset?`)) return;
    await call(client().clearDataset({ ...datasetIds(ids), label })).catch(onError);
    setStamp((s) => s + 1);
  };

  return (
    <div class="view">
      <Section title="Upload">
        <label class="field inline">
          <span>mm per pixel of these images (optional, stored in their metas)</span>
          <input name="mm_per_px" inputMode="decimal" value={mmPerPx} onInput={(e) => setMmPerPx((e.target as HTMLInputElement).value)} />
        </label>
        <div class="drops">
          {LABELS.map((label) => (
            <DropZone label={label} onFiles={(files) => start(label, files)} />
          ))}
        </div>
        {upload ? <UploadProgress state={upload} /> : null}
      </Section>
      {LABELS.map((label) => {
        const files = listing?.[label] ?? [];
        return (
          <Section
            title={`${label.toUpperCase()} images (${listing ? files.length : "..."})`}
            actions={
              files.length > 0 ? (
                <button type="button" class="danger" onClick={() => clear(label)}>
                  Clear {label.toUpperCase()}
                </button>
              ) : null
            }
          >
            {files.length === 0 ? <p class="hint">{listing ? "None yet." : "Loading..."}</p> : null}
            <ul class="thumbs" aria-label={`${label} images`}>
              {files.slice(0, shown[label]).map((filename) => (
                <li class="thumb-cell">
                  <DatasetImage ids={ids} label={label} filename={filename} alt={`${label} ${filename}`} />
                  <span class="thumb-name" title={filename}>
                    {filename}
                  </span>
                  <button type="button" class="link danger" aria-label={`Delete ${label} ${filename}`} onClick={() => remove(label, filename)}>
                    delete
                  </button>
                </li>
              ))}
            </ul>
            {files.length > shown[label] ? (
              <button type="button" class="secondary" onClick={() => setShown({ ...shown, [label]: shown[label] + SHOWN })}>
                Show {Math.min(SHOWN, files.length - shown[label])} more
              </button>
            ) : null}
          </Section>
        );
      })}
    </div>
  );
}

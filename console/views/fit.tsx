import { useState } from "preact/hooks";
import type { FitOkResponse } from "../../lib/contract/fitOk";
import type { JobAccepted } from "../../lib/contract/jobs";
import { call, client } from "../api";
import { num, Progress, Section } from "../components";
import type { ModelIds } from "../model";

type Outcome = Omit<FitOkResponse, "request_id">;

/**
 * Waits for a job, showing its progress; its whole result (a batch's from its result_url, where
 * the per-image lists are), or its error as the API words it.
 */
export async function followJob(accepted: JobAccepted, onProgress: (done: number, total: number, state: string) => void): Promise<Record<string, unknown>> {
  const job = await client().waitForJob(accepted.job_id, { intervalMs: 700, onProgress: (j) => onProgress(j.progress.done, j.progress.total, j.state) });
  if (job.state === "failed") throw new Error(`The job failed: ${job.error?.error ?? "see the service logs"}${job.error ? ` [${job.error.code}]` : ""}`);
  if (job.result_url) {
    const full = await fetch(job.result_url);
    if (!full.ok) throw new Error(`The job's result could not be read (HTTP ${full.status})`);
    return (await full.json()) as Record<string, unknown>;
  }
  return job.result ?? {};
}

function Figures({ fit }: { fit: Outcome }) {
  const rows: [string, string][] = [
    ["version", `${fit.model_version}${fit.active_version === fit.model_version ? " (active)" : ` (candidate; active: ${fit.active_version ?? "none"})`}`],
    ["images", String(fit.n_images)],
    ["patch embeddings", String(fit.n_embeddings)],
    ["memory (coreset) rows", `${fit.coreset_size} (${num(100 * fit.coreset_rate_applied, 3)} %)`],
    ["covering radius", num(fit.covering_radius)],
    ["token grid", fit.token_shape.join(" x ")],
    ["time", `${num((fit.timings_ms.coordinator_total ?? Object.values(fit.timings_ms).reduce((a, b) => a + b, 0)) / 1000, 3)} s`],
  ];
  if (fit.calibration_inherited) rows.push(["calibration", "inherited from the version active before: calibrate this one"]);
  if (fit.deleted_versions.length) rows.push(["removed (MAX_MODEL_VERSIONS)", fit.deleted_versions.join(", ")]);
  return (
    <table class="figures" aria-label="Fit figures">
      <tbody>
        {rows.map(([k, v]) => (
          <tr>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Fit a new version: on the ROI's stored OK images (a job when large, with its progress), or on images picked here. */
export function FitView({ ids, onError, onChanged }: { ids: ModelIds; onError: (e: unknown) => void; onChanged: () => void }) {
  const [source, setSource] = useState<"dataset" | "files">("dataset");
  const [files, setFiles] = useState<File[]>([]);
  const [mmPerPx, setMmPerPx] = useState("0.1");
  const [memoryFit, setMemoryFit] = useState(false);
  const [activate, setActivate] = useState(true);
  const [busy, setBusy] = useState<{ done: number; total: number; state: string } | null>(null);
  const [result, setResult] = useState<Outcome | null>(null);

  const run = async (e: Event) => {
    e.preventDefault();
    setResult(null);
    setBusy({ done: 0, total: 0, state: "sending" });
    try {
      const fields = { ...ids, mm_per_px: Number(mmPerPx), memory_fit: memoryFit, activate, use_dataset: source === "dataset" };
      const images = await Promise.all(files.map(async (f) => ({ filename: f.name, data: new Uint8Array(await f.arrayBuffer()), type: f.type })));
      const answer = await call(client().fitOk(fields, source === "files" ? images : []));
      const fitted =
        "job_id" in answer ? ((await followJob(answer as unknown as JobAccepted, (done, total, state) => setBusy({ done, total, state }))) as Outcome) : answer;
      setResult(fitted);
      onChanged();
    } catch (error) {
      onError(error);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div class="view">
      <Section title="Fit a new version">
        <form class="form" onSubmit={run}>
          <fieldset>
            <legend>Good images</legend>
            <label class="radio">
              <input type="radio" name="source" checked={source === "dataset"} onChange={() => setSource("dataset")} /> every OK image of the ROI's dataset (any
              number: large fits run as a job)
            </label>
            <label class="radio">
              <input type="radio" name="source" checked={source === "files"} onChange={() => setSource("files")} /> these files (one request: a few MB at most)
            </label>
            {source === "files" ? (
              <input
                type="file"
                accept="image/png,image/jpeg"
                multiple
                aria-label="Good images to fit on"
                onChange={(e) => setFiles([...((e.target as HTMLInputElement).files ?? [])])}
              />
            ) : null}
          </fieldset>
          <label class="field">
            <span>mm per pixel</span>
            <input name="mm_per_px" required inputMode="decimal" value={mmPerPx} onInput={(e) => setMmPerPx((e.target as HTMLInputElement).value)} />
          </label>
          <label class="check">
            <input type="checkbox" checked={memoryFit} onChange={(e) => setMemoryFit((e.target as HTMLInputElement).checked)} /> keep every patch (memory_fit,
            no coreset)
          </label>
          <label class="check">
            <input type="checkbox" checked={activate} onChange={(e) => setActivate((e.target as HTMLInputElement).checked)} /> serve it at once (else a
            candidate to try first: Versions)
          </label>
          <button type="submit" disabled={busy !== null || (source === "files" && files.length === 0)}>
            Fit
          </button>
        </form>
        {busy ? <Progress label={busy.total ? `fitting (${busy.state}): images embedded` : "fitting..."} done={busy.done} total={busy.total} /> : null}
        {result ? <Figures fit={result} /> : null}
      </Section>
    </div>
  );
}

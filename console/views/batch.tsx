import { useState } from "preact/hooks";
import type { JobAccepted } from "../../lib/contract/jobs";
import { call, client } from "../api";
import { DatasetImage, num, Progress, Section } from "../components";
import type { ModelIds } from "../model";
import { followJob } from "./fit";
import { datasetTarget, type InspectTarget } from "./inspect";

interface Item {
  readonly label: "ok" | "ng";
  readonly filename: string;
  /** The scale it was scored at (its meta's, else the request's default). */
  readonly mm_per_px: number | null;
  readonly score: number | null;
  readonly threshold: number | null;
  readonly n_regions: number;
  readonly error: string | null;
}

type Filter = "all" | "defect" | "ok" | "error";

function verdictOf(item: Item): "defect" | "ok" | "error" {
  if (item.error !== null || item.score === null || item.threshold === null) return "error";
  return item.score >= item.threshold ? "defect" : "ok";
}

/** Score the ROI's whole stored dataset (a job when large, with its progress), then every image in a table sorted by score. */
export function BatchView({
  ids,
  onError,
  onInspect,
  onChanged,
}: {
  ids: ModelIds;
  onError: (e: unknown) => void;
  onInspect: (target: InspectTarget) => void;
  onChanged: () => void;
}) {
  const [items, setItems] = useState<Item[] | null>(null);
  const [version, setVersion] = useState<number | null>(null);
  const [busy, setBusy] = useState<{ done: number; total: number } | null>(null);
  const [filter, setFilter] = useState<Filter>("all");
  const [taught, setTaught] = useState<Record<string, string>>({});

  const run = async () => {
    setBusy({ done: 0, total: 0 });
    setItems(null);
    try {
      const answer = await call(client().inferDataset({ ...ids }));
      const result = ("job_id" in answer ? await followJob(answer as unknown as JobAccepted, (done, total) => setBusy({ done, total })) : answer) as {
        items: Item[];
        model_version: number;
      };
      setItems([...result.items].sort((a, b) => (b.score ?? Infinity) - (a.score ?? Infinity)));
      setVersion(result.model_version);
    } catch (error) {
      onError(error);
    } finally {
      setBusy(null);
    }
  };

  const open = async (item: Item) => {
    try {
      onInspect(await datasetTarget(ids, item.label, item.filename));
    } catch (error) {
      onError(error);
    }
  };

  /** A good image flagged as defective, taught as good: a new version (append), and the image's score before and after. */
  const teach = async (item: Item) => {
    if (!confirm(`Teach ${item.filename} as a good part? A new version is made from version ${version} and served at once.`)) return;
    try {
      if (item.mm_per_px === null) throw new Error(`${item.filename} was scored without a scale (mm_per_px): inspect it and teach it from there`);
      const fit = await call(
        client().fitOk(
          { ...ids, append: true, mm_per_px: item.mm_per_px, dataset_files: JSON.stringify([item.filename]), model_version: version ?? undefined },
          [],
        ),
      );
      const target = await datasetTarget(ids, item.label, item.filename);
      const again = await call(client().infer({ ...ids }, { filename: item.filename, data: new Uint8Array(await target.blob.arrayBuffer()) }));
      setTaught({ ...taught, [item.filename]: `version ${fit.model_version}: ${num(item.score)} -> ${num(again.score)}` });
      onChanged();
    } catch (error) {
      onError(error);
    }
  };

  const shown = (items ?? []).filter((i) => filter === "all" || verdictOf(i) === filter);
  const counts = { defect: 0, ok: 0, error: 0 };
  for (const i of items ?? []) counts[verdictOf(i)]++;
  return (
    <div class="view">
      <Section title="Score the stored dataset">
        <p>
          <button type="button" onClick={run} disabled={busy !== null}>
            Score every OK and NG image
          </button>{" "}
          with the active version (needs a calibration)
        </p>
        {busy ? <Progress label="scoring" done={busy.done} total={busy.total} /> : null}
      </Section>
      {items ? (
        <Section
          title={`${items.length} images, version ${version}: ${counts.defect} flagged, ${counts.ok} passed${counts.error ? `, ${counts.error} errors` : ""}`}
          actions={
            <label class="field inline">
              <span>Show</span>
              <select name="filter" value={filter} onChange={(e) => setFilter((e.target as HTMLSelectElement).value as Filter)}>
                <option value="all">all</option>
                <option value="defect">flagged</option>
                <option value="ok">passed</option>
                <option value="error">errors</option>
              </select>
            </label>
          }
        >
          <table class="batch" aria-label="Batch results">
            <thead>
              <tr>
                <th>image</th>
                <th>stored as</th>
                <th>file</th>
                <th>score</th>
                <th>verdict</th>
                <th>regions</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shown.map((item) => {
                const verdict = verdictOf(item);
                return (
                  <tr class={`row-${verdict}`}>
                    <td>
                      <DatasetImage ids={ids} label={item.label} filename={item.filename} alt={item.filename} className="thumb small" />
                    </td>
                    <td>{item.label.toUpperCase()}</td>
                    <td class="filename">{item.filename}</td>
                    <td>{num(item.score)}</td>
                    <td>{verdict === "error" ? item.error : verdict === "defect" ? "DEFECT" : "OK"}</td>
                    <td>{item.n_regions}</td>
                    <td>
                      <button type="button" class="link" onClick={() => open(item)}>
                        inspect
                      </button>
                      {item.label === "ok" && verdict === "defect" ? (
                        taught[item.filename] ? (
                          <span class="taught">taught ({taught[item.filename]})</span>
                        ) : (
                          <button type="button" class="link" onClick={() => teach(item)}>
                            teach as good
                          </button>
                        )
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Section>
      ) : null}
    </div>
  );
}

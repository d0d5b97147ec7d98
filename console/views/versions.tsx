import { useEffect, useState } from "preact/hooks";
import type { z } from "zod";
import type { modelVersion } from "../../lib/contract/models";
import { call, client } from "../api";
import { num, Progress, Section } from "../components";
import type { ModelIds } from "../model";

type Version = z.infer<typeof modelVersion>;

interface Comparison {
  readonly name: string;
  readonly a: { score: number; threshold: number | null };
  readonly b: { score: number; threshold: number | null };
}

const thresholdOf = (v: Version) => (v.calibration && typeof v.calibration.threshold === "number" ? v.calibration.threshold : null);

function verdict(score: number, threshold: number | null): string {
  return threshold === null ? "uncalibrated" : score >= threshold ? "DEFECT" : "OK";
}

/** A model's versions: their figures, which is served, a rollback or activation, a delete, and a candidate compared with the live version on the same images. */
export function VersionsView({ ids, onError, onChanged, stamp }: { ids: ModelIds; onError: (e: unknown) => void; onChanged: () => void; stamp: number }) {
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [local, setLocal] = useState(0);
  const [a, setA] = useState("");
  const [b, setB] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [rows, setRows] = useState<Comparison[]>([]);

  useEffect(() => {
    call(client().listModels(ids))
      .then((m) => {
        setVersions(m.versions);
        const active = m.active_version;
        const candidate = m.versions.find((v) => !v.active);
        if (active !== null) setB((current) => current || String(active));
        if (candidate) setA((current) => current || String(candidate.version));
      })
      .catch(onError);
  }, [ids, stamp, local]);

  const activate = async (v: Version) => {
    const active = versions?.find((x) => x.active);
    if (
      !confirm(
        `Serve version ${v.version}${active ? ` instead of version ${active.version}` : ""}? Every inference uses it from now on (within seconds), with its own threshold.`,
      )
    )
      return;
    try {
      await call(client().activateModel({ ...ids, version: v.version }));
      setLocal((n) => n + 1);
      onChanged();
    } catch (error) {
      onError(error);
    }
  };

  const remove = async (v: Version) => {
    if (!confirm(`Delete version ${v.version}? Its memory is removed; its number is never given again.`)) return;
    try {
      await call(client().deleteModelVersion({ ...ids, version: v.version }));
      setLocal((n) => n + 1);
      onChanged();
    } catch (error) {
      onError(error);
    }
  };

  const compare = async () => {
    setRows([]);
    setProgress({ done: 0, total: files.length });
    try {
      const out: Comparison[] = [];
      for (const [i, file] of files.entries()) {
        const data = new Uint8Array(await file.arrayBuffer());
        const image = { filename: file.name, data, type: file.type };
        const [ra, rb] = [
          await call(client().infer({ ...ids, model_version: Number(a) }, image)),
          await call(client().infer({ ...ids, model_version: Number(b) }, image)),
        ];
        out.push({ name: file.name, a: { score: ra.score, threshold: ra.threshold }, b: { score: rb.score, threshold: rb.threshold } });
        setRows([...out]);
        setProgress({ done: i + 1, total: files.length });
      }
    } catch (error) {
      onError(error);
    } finally {
      setProgress(null);
    }
  };

  return (
    <div class="view">
      <Section title="Versions">
        {versions === null ? <p class="hint">Loading...</p> : null}
        {versions && versions.length === 0 ? <p class="hint">No version yet: fit the model.</p> : null}
        {versions && versions.length > 0 ? (
          <table class="versions" aria-label="Model versions">
            <thead>
              <tr>
                <th>version</th>
                <th>served</th>
                <th>made</th>
                <th>from</th>
                <th>images</th>
                <th>memory rows</th>
                <th>covering radius</th>
                <th>threshold</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr class={v.active ? "active" : ""}>
                  <td>{v.version}</td>
                  <td>{v.active ? "ACTIVE" : ""}</td>
                  <td title={v.created_at}>{v.created_at.replace("T", " ").slice(0, 16)}</td>
                  <td>{v.source === "append" ? `append to ${v.parent_version}` : v.source}</td>
                  <td>{num(v.n_images)}</td>
                  <td>{num(v.coreset_size)}</td>
                  <td>{num(v.covering_radius)}</td>
                  <td>
                    {thresholdOf(v) === null ? "none" : num(thresholdOf(v))}
                    {v.calibration_inherited ? " (inherited)" : ""}
                  </td>
                  <td>
                    {v.active ? null : (
                      <>
                        <button type="button" class="link" onClick={() => activate(v)}>
                          activate
                        </button>{" "}
                        <button type="button" class="link danger" onClick={() => remove(v)}>
                          delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
      {versions && versions.length > 1 ? (
        <Section title="Compare two versions on the same images">
          <div class="form row">
            <label class="field small">
              <span>Candidate</span>
              <select name="version_a" value={a} onChange={(e) => setA((e.target as HTMLSelectElement).value)}>
                {versions.map((v) => (
                  <option value={String(v.version)}>{v.version}</option>
                ))}
              </select>
            </label>
            <label class="field small">
              <span>Against</span>
              <select name="version_b" value={b} onChange={(e) => setB((e.target as HTMLSelectElement).value)}>
                {versions.map((v) => (
                  <option value={String(v.version)}>
                    {v.version}
                    {v.active ? " (active)" : ""}
                  </option>
                ))}
              </select>
            </label>
            <input
              type="file"
              multiple
              accept="image/png,image/jpeg"
              aria-label="Images to compare on"
              onChange={(e) => setFiles([...((e.target as HTMLInputElement).files ?? [])])}
            />
            <button type="button" onClick={compare} disabled={files.length === 0 || !a || !b || progress !== null}>
              Compare
            </button>
          </div>
          {progress ? <Progress label="scoring with both" done={progress.done} total={progress.total} /> : null}
          {rows.length > 0 ? (
            <table class="compare" aria-label="Comparison">
              <thead>
                <tr>
                  <th>image</th>
                  <th>version {a}</th>
                  <th>version {b}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr class={verdict(r.a.score, r.a.threshold) !== verdict(r.b.score, r.b.threshold) ? "differs" : ""}>
                    <td>{r.name}</td>
                    <td>
                      {num(r.a.score)} {verdict(r.a.score, r.a.threshold)}
                    </td>
                    <td>
                      {num(r.b.score)} {verdict(r.b.score, r.b.threshold)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </Section>
      ) : null}
    </div>
  );
}

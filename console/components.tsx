import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { call, client, describeError } from "./api";
import { datasetIds, type ModelIds } from "./model";

/** A labelled progress bar; `total` 0 shows an indeterminate bar. */
export function Progress({ label, done, total }: { label: string; done: number; total: number }) {
  const percent = total > 0 ? Math.round((100 * done) / total) : null;
  return (
    <div class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={total || undefined} aria-valuenow={total ? done : undefined}>
      <div class="progress-label">
        {label}
        {percent === null ? "" : ` ${done} / ${total} (${percent} %)`}
      </div>
      <div class="progress-track">
        <div class={percent === null ? "progress-fill indeterminate" : "progress-fill"} style={percent === null ? undefined : { width: `${percent}%` }} />
      </div>
    </div>
  );
}

/** An error as the API worded it (never a blank page). */
export function ErrorBox({ error, onClose }: { error: unknown; onClose?: () => void }) {
  if (error === null || error === undefined) return null;
  return (
    <div class="error" role="alert">
      <span>{describeError(error)}</span>
      {onClose ? (
        <button type="button" class="link" onClick={onClose} aria-label="Dismiss the error">
          dismiss
        </button>
      ) : null}
    </div>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <header class="card-head">
        <h2>{title}</h2>
        <div class="card-actions">{actions}</div>
      </header>
      {children}
    </section>
  );
}

/** The fixed heatmap scale's legend: 0, the anchor (where "defect" starts) and 2 x anchor, with what the anchor is. */
export function ScaleLegend({
  stops,
  low,
  anchor,
  high,
  source,
}: {
  stops: [number, number, number, number][];
  low: number;
  anchor: number;
  high: number;
  source: string;
}) {
  const gradient = `linear-gradient(to right, ${stops.map(([t, r, g, b]) => `rgb(${r},${g},${b}) ${(t * 100).toFixed(1)}%`).join(", ")})`;
  const meaning =
    source === "threshold"
      ? "the middle is the model's threshold: from it up, a pixel counts as defective"
      : source === "covering_radius"
        ? "not calibrated yet: the middle is the fit's covering radius (how far good patches reach)"
        : "this model records no scale (not calibrated, no covering radius): the middle is this image's own score, not comparable across images";
  return (
    <figure class="legend" aria-label="Heatmap colour scale">
      <div class="legend-bar" style={{ background: gradient }} />
      <div class="legend-ticks">
        <span>{num(low)}</span>
        <span>{num(anchor)}</span>
        <span>&ge; {num(high)}</span>
      </div>
      <figcaption>One scale for every image of this model: {meaning}.</figcaption>
    </figure>
  );
}

const links = new Map<string, { url: string; until: number }>();

/** A stored dataset image, through a short-lived link the API gives (works with an API key: no header on <img>). */
export function DatasetImage({
  ids,
  label,
  filename,
  alt,
  className,
}: {
  ids: ModelIds;
  label: "ok" | "ng";
  filename: string;
  alt: string;
  className?: string;
}) {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const key = `${JSON.stringify(datasetIds(ids))}/${label}/${filename}`;
    const cached = links.get(key);
    if (cached && cached.until > Date.now()) {
      setUrl(cached.url);
      return;
    }
    let live = true;
    call(client().datasetFileLink({ ...datasetIds(ids), label, filename }))
      .then((link) => {
        links.set(key, { url: link.url, until: Date.now() + (link.expires_in_s - 30) * 1000 });
        if (live) setUrl(link.url);
      })
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [ids.role_id, ids.roi_id, ids.recipe_id, label, filename]);
  if (failed) return <span class="thumb-missing">{filename}</span>;
  return url ? <img class={className ?? "thumb"} src={url} alt={alt} loading="lazy" /> : <span class="thumb-loading" aria-busy="true" />;
}

/** The image bytes of a stored dataset file (to send to /infer). */
export async function datasetImageBytes(ids: ModelIds, label: "ok" | "ng", filename: string): Promise<Blob> {
  const link = await call(client().datasetFileLink({ ...datasetIds(ids), label, filename }));
  const response = await fetch(link.url);
  if (!response.ok) throw new Error(`could not read ${label}/${filename} (HTTP ${response.status})`);
  return response.blob();
}

/** Numbers as people read them. */
export function num(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "-";
  return Math.abs(value) >= 1000 ? value.toFixed(0) : Number(value.toPrecision(digits)).toString();
}

import { useEffect, useRef, useState } from "preact/hooks";
import type { InferResponse } from "../../lib/contract/infer";
import { call, client } from "../api";
import { datasetImageBytes, num, ScaleLegend, Section } from "../components";
import type { ModelIds } from "../model";

/** An image to inspect: picked here, or a stored dataset image opened from a batch. */
export interface InspectTarget {
  readonly name: string;
  readonly blob: Blob;
  readonly dataset?: { readonly label: "ok" | "ng"; readonly filename: string };
}

type ShapeKind = "none" | "rect" | "circle" | "annulus";
interface Shape {
  readonly kind: ShapeKind;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly cx: number;
  readonly cy: number;
  readonly r: number;
  readonly r_inner: number;
}

/** The shape as /infer's `shape` field takes it (ROI pixels), or undefined for the whole ROI. */
function shapeJson(shape: Shape): string | undefined {
  if (shape.kind === "none") return undefined;
  if (shape.kind === "rect") return JSON.stringify({ kind: "rect", x: shape.x, y: shape.y, w: shape.w, h: shape.h });
  if (shape.kind === "circle") return JSON.stringify({ kind: "circle", cx: shape.cx, cy: shape.cy, r: shape.r });
  return JSON.stringify({ kind: "annulus", cx: shape.cx, cy: shape.cy, r: shape.r, r_inner: shape.r_inner });
}

function defaultShape(kind: ShapeKind, w: number, h: number): Shape {
  const r = Math.round(Math.min(w, h) / 2);
  return { kind, x: 0, y: 0, w, h, cx: Math.round(w / 2), cy: Math.round(h / 2), r, r_inner: Math.round(r / 2) };
}

function ShapeOutline({ shape }: { shape: Shape }) {
  if (shape.kind === "rect") return <rect class="shape" x={shape.x} y={shape.y} width={shape.w} height={shape.h} />;
  if (shape.kind === "none") return null;
  return (
    <>
      <circle class="shape" cx={shape.cx} cy={shape.cy} r={shape.r} />
      {shape.kind === "annulus" ? <circle class="shape" cx={shape.cx} cy={shape.cy} r={shape.r_inner} /> : null}
    </>
  );
}

function Regions({ result }: { result: InferResponse }) {
  return (
    <>
      {result.regions.map((r, i) => (
        <g class="region">
          <polygon points={r.contour.map(([x, y]) => `${x},${y}`).join(" ")} />
          <text x={r.bbox[0]} y={Math.max(10, r.bbox[1] - 3)}>
            {i + 1}
          </text>
        </g>
      ))}
    </>
  );
}

/** Mouse position over an SVG whose viewBox is the image's pixels, in those pixels. */
function imagePoint(svg: SVGSVGElement, event: MouseEvent, width: number, height: number): [number, number] {
  const box = svg.getBoundingClientRect();
  return [Math.round(((event.clientX - box.left) / box.width) * width), Math.round(((event.clientY - box.top) / box.height) * height)];
}

function Verdict({ result }: { result: InferResponse }) {
  if (result.threshold === null)
    return (
      <p class="verdict none" role="status">
        NOT CALIBRATED: score {num(result.score)}, no threshold yet (Calibrate).
      </p>
    );
  const defect = result.score >= result.threshold;
  // a close call shown with enough digits to see which side it is on
  const digits = num(result.score) === num(result.threshold) ? 10 : 4;
  return (
    <div role="status">
      <p class={defect ? "verdict defect" : "verdict ok"}>
        {defect ? "DEFECT" : "OK"}: score {num(result.score, digits)} {defect ? ">=" : "<"} threshold {num(result.threshold, digits)}
        {result.calibration_inherited
          ? " (threshold inherited: calibrate this version)"
          : result.calibration_stale
            ? " (threshold calibrated for another fit: calibrate again)"
            : ""}
      </p>
      {!defect && result.regions.length > 0 ? (
        <p class="note">
          The part passes, yet {result.regions.length} region{result.regions.length > 1 ? "s are" : " is"} drawn: the verdict compares the image score (the{" "}
          {result.params.score_percentile}th percentile of the anomaly map) with the threshold, while regions are the pixels above it. A small area is above the
          threshold, not enough of the image to move its score over.
        </p>
      ) : null}
    </div>
  );
}

/** Inspect one image: the verdict, the image beside its heatmap on the model's fixed scale, the regions, an ROI shape drawn on it. */
export function InspectView({
  ids,
  target,
  onError,
  onChanged,
  stamp,
}: {
  ids: ModelIds;
  target: InspectTarget | null;
  onError: (e: unknown) => void;
  onChanged: () => void;
  stamp: number;
}) {
  const [image, setImage] = useState<InspectTarget | null>(target);
  const [url, setUrl] = useState<string | null>(null);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  const [shape, setShape] = useState<Shape>(defaultShape("none", 0, 0));
  const [result, setResult] = useState<InferResponse | null>(null);
  const [busy, setBusy] = useState(false);
  const [opacity, setOpacity] = useState(0.6);
  const [versions, setVersions] = useState<number[]>([]);
  const [version, setVersion] = useState("");
  const [mmPerPx, setMmPerPx] = useState("");
  const [taught, setTaught] = useState<{ before: number; after: number; version: number; threshold: number | null } | null>(null);
  const drag = useRef<[number, number] | null>(null);
  const svg = useRef<SVGSVGElement>(null);

  useEffect(() => setImage(target), [target]);
  useEffect(() => {
    call(client().listModels(ids))
      .then((m) => setVersions(m.versions.map((v) => v.version)))
      .catch(() => setVersions([]));
  }, [ids, stamp]);
  useEffect(() => {
    if (!image) return;
    const objectUrl = URL.createObjectURL(image.blob);
    setUrl(objectUrl);
    setResult(null);
    setTaught(null);
    const probe = new Image();
    probe.onload = () => {
      setSize({ width: probe.naturalWidth, height: probe.naturalHeight });
      setShape(defaultShape("none", probe.naturalWidth, probe.naturalHeight));
    };
    probe.src = objectUrl;
    return () => URL.revokeObjectURL(objectUrl);
  }, [image]);
  useEffect(() => {
    if (image && size) void inspect();
  }, [size]);

  const inspect = async (): Promise<InferResponse | null> => {
    if (!image) return null;
    setBusy(true);
    try {
      const data = new Uint8Array(await image.blob.arrayBuffer());
      const fields = {
        ...ids,
        heatmap_scale: "model" as const,
        ...(shapeJson(shape) ? { shape: shapeJson(shape) } : {}),
        ...(version ? { model_version: Number(version) } : {}),
        ...(mmPerPx.trim() ? { mm_per_px: Number(mmPerPx) } : {}),
      };
      const answer = await call(client().infer(fields, { filename: image.name, data, type: image.blob.type || "image/png" }));
      setResult(answer);
      return answer;
    } catch (error) {
      onError(error);
      return null;
    } finally {
      setBusy(false);
    }
  };

  /** Append the image to the model as good (a false alarm taught): a new active version; its score before and after. */
  const teach = async () => {
    if (!image || !result) return;
    if (!confirm(`Teach ${image.name} as a good part? A new version is made from version ${result.model_version} and served at once.`)) return;
    setBusy(true);
    try {
      const data = new Uint8Array(await image.blob.arrayBuffer());
      const base = { ...ids, append: true, mm_per_px: result.mm_per_px, model_version: result.model_version };
      const fit =
        image.dataset?.label === "ok"
          ? await call(client().fitOk({ ...base, dataset_files: JSON.stringify([image.dataset.filename]) }, []))
          : await call(client().fitOk(base, [{ filename: image.name, data, type: image.blob.type || "image/png" }]));
      setVersion("");
      onChanged();
      const again = await call(client().infer({ ...ids, heatmap_scale: "model" as const, model_version: fit.model_version }, { filename: image.name, data }));
      setTaught({ before: result.score, after: again.score, version: fit.model_version, threshold: again.threshold });
      setResult(again);
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  };

  const onDown = (e: MouseEvent) => {
    if (!size || !svg.current || shape.kind === "none") return;
    drag.current = imagePoint(svg.current, e, size.width, size.height);
  };
  const onMove = (e: MouseEvent) => {
    if (!drag.current || !size || !svg.current) return;
    const [x0, y0] = drag.current;
    const [x1, y1] = imagePoint(svg.current, e, size.width, size.height);
    if (shape.kind === "rect") setShape({ ...shape, x: Math.min(x0, x1), y: Math.min(y0, y1), w: Math.abs(x1 - x0), h: Math.abs(y1 - y0) });
    else {
      const r = Math.round(Math.hypot(x1 - x0, y1 - y0));
      setShape({ ...shape, cx: x0, cy: y0, r, r_inner: Math.min(shape.r_inner, r - 1) });
    }
  };
  const onUp = () => {
    drag.current = null;
  };

  const number = (name: keyof Shape, label: string) => (
    <label class="field small">
      <span>{label}</span>
      <input
        type="number"
        name={`shape_${name}`}
        value={String(shape[name])}
        onInput={(e) => setShape({ ...shape, [name]: Number((e.target as HTMLInputElement).value) })}
      />
    </label>
  );

  return (
    <div class="view">
      <Section title="Inspect an image">
        <div
          class="drop"
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => {
            e.preventDefault();
            const file = e.dataTransfer?.files[0];
            if (file) setImage({ name: file.name, blob: file });
          }}
        >
          <label for="inspect-file">
            Drop an image here, or <span class="link">choose one</span>
            {image ? ` (now: ${image.name}${image.dataset ? `, stored ${image.dataset.label}` : ""})` : ""}
          </label>
          <input
            id="inspect-file"
            type="file"
            accept="image/png,image/jpeg"
            class="visually-hidden"
            onChange={(e) => {
              const file = (e.target as HTMLInputElement).files?.[0];
              if (file) setImage({ name: file.name, blob: file });
            }}
          />
        </div>
        <form
          class="form row"
          onSubmit={(e) => {
            e.preventDefault();
            void inspect();
          }}
        >
          <label class="field small">
            <span>Version</span>
            <select name="model_version" value={version} onChange={(e) => setVersion((e.target as HTMLSelectElement).value)}>
              <option value="">active</option>
              {versions.map((v) => (
                <option value={String(v)}>{v}</option>
              ))}
            </select>
          </label>
          <label class="field small">
            <span>mm/px</span>
            <input
              name="mm_per_px"
              placeholder="from the fit"
              inputMode="decimal"
              value={mmPerPx}
              onInput={(e) => setMmPerPx((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="field small">
            <span>Shape</span>
            <select
              name="shape_kind"
              value={shape.kind}
              onChange={(e) => setShape(defaultShape((e.target as HTMLSelectElement).value as ShapeKind, size?.width ?? 0, size?.height ?? 0))}
            >
              <option value="none">whole ROI</option>
              <option value="rect">rectangle</option>
              <option value="circle">circle</option>
              <option value="annulus">annulus</option>
            </select>
          </label>
          {shape.kind === "rect" ? (
            <>
              {number("x", "x")}
              {number("y", "y")}
              {number("w", "w")}
              {number("h", "h")}
            </>
          ) : null}
          {shape.kind === "circle" || shape.kind === "annulus" ? (
            <>
              {number("cx", "cx")}
              {number("cy", "cy")}
              {number("r", "r")}
              {shape.kind === "annulus" ? number("r_inner", "r inner") : null}
            </>
          ) : null}
          <button type="submit" disabled={!image || busy}>
            {busy ? "Inspecting..." : "Inspect"}
          </button>
        </form>
        {shape.kind !== "none" ? <p class="hint">Drag on the left image to draw the shape (from a corner, or from the centre), then Inspect.</p> : null}
      </Section>
      {url && size ? (
        <Section title={result ? `${image?.name}: version ${result.model_version}` : (image?.name ?? "")}>
          {result ? <Verdict result={result} /> : null}
          {taught ? (
            <p class="taught" role="status">
              Taught as good: version {taught.version} is active. Score {num(taught.before)} before, {num(taught.after)} now
              {taught.threshold !== null ? ` (threshold ${num(taught.threshold)})` : ""}.
            </p>
          ) : null}
          <div class="pair">
            <figure class="panel">
              <div class="stage">
                <img src={url} alt="the ROI image" />
                <svg
                  ref={svg}
                  class={shape.kind === "none" ? "overlay" : "overlay drawing"}
                  viewBox={`0 0 ${size.width} ${size.height}`}
                  onMouseDown={onDown}
                  onMouseMove={onMove}
                  onMouseUp={onUp}
                  onMouseLeave={onUp}
                >
                  <ShapeOutline shape={shape} />
                  {result ? <Regions result={result} /> : null}
                </svg>
              </div>
              <figcaption>The image, its shape and the regions found</figcaption>
            </figure>
            <figure class="panel">
              <div class="stage">
                <img src={url} alt="" />
                {result?.heatmap_fixed ? (
                  <img class="heat" src={`data:image/png;base64,${result.heatmap_fixed.png_base64}`} alt="the anomaly heatmap" style={{ opacity }} />
                ) : null}
                <svg class="overlay" viewBox={`0 0 ${size.width} ${size.height}`}>
                  {result ? <Regions result={result} /> : null}
                </svg>
              </div>
              <figcaption>
                <label class="field inline">
                  <span>Heatmap opacity</span>
                  <input
                    type="range"
                    min="0"
                    max="1"
                    step="0.05"
                    value={String(opacity)}
                    onInput={(e) => setOpacity(Number((e.target as HTMLInputElement).value))}
                  />
                </label>
              </figcaption>
            </figure>
          </div>
          {result?.heatmap_fixed ? (
            <ScaleLegend
              stops={result.heatmap_fixed.stops}
              low={result.heatmap_fixed.low}
              anchor={result.heatmap_fixed.anchor}
              high={result.heatmap_fixed.high}
              source={result.heatmap_fixed.anchor_source}
            />
          ) : null}
          {result && result.regions.length > 0 ? (
            <table class="regions" aria-label="Regions">
              <thead>
                <tr>
                  <th>#</th>
                  <th>bbox (x, y, w, h)</th>
                  <th>area px</th>
                  <th>area mm²</th>
                </tr>
              </thead>
              <tbody>
                {result.regions.map((r, i) => (
                  <tr>
                    <td>{i + 1}</td>
                    <td>{r.bbox.join(", ")}</td>
                    <td>{num(r.area_px)}</td>
                    <td>{num(r.area_mm2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {result && result.threshold !== null && result.score >= result.threshold ? (
            <p>
              A good part flagged as defective?{" "}
              <button type="button" onClick={teach} disabled={busy}>
                Teach as good
              </button>
            </p>
          ) : null}
        </Section>
      ) : null}
    </div>
  );
}

/** Opens a stored dataset image in the inspect view. */
export async function datasetTarget(ids: ModelIds, label: "ok" | "ng", filename: string): Promise<InspectTarget> {
  return { name: filename, blob: await datasetImageBytes(ids, label, filename), dataset: { label, filename } };
}

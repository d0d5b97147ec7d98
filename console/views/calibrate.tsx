import { useRef, useState } from "preact/hooks";
import type { JobAccepted } from "../../lib/contract/jobs";
import { call, client } from "../api";
import { num, Progress, Section } from "../components";
import type { ModelIds } from "../model";
import { followJob } from "./fit";

interface Scores {
  readonly ok: number[];
  readonly ng: number[];
  /** The threshold the service's rule chose (and stored), if any. */
  readonly stored: number | null;
}

interface Rate {
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly n: number;
  readonly estimated_on: string;
}

/** A rate as a quality engineer reads it: the estimate, its 95 % interval, what it was counted on. */
function describeRate(rate: Rate | null): string {
  if (rate === null) return "unknown (no NG scores)";
  const pct = (v: number) => `${num(100 * v, 3)} %`;
  return `${pct(rate.estimate)} (95 % interval ${pct(rate.low)} to ${pct(rate.high)}, ${rate.n} images, ${rate.estimated_on.replace("_", " ")})`;
}

type Rule = "old" | "false_alarm_rate" | "f1";

const W = 640;
const H = 220;
const PAD = 32;
const BINS = 30;

/** A histogram of the OK and NG scores with a threshold line to drag: how many of each it would flag. */
function Histogram({ scores, threshold, onThreshold }: { scores: Scores; threshold: number; onThreshold: (t: number) => void }) {
  const svg = useRef<SVGSVGElement>(null);
  const all = [...scores.ok, ...scores.ng, threshold];
  // a loop, not Math.min(...all): spreading some 100k arguments overflows the stack
  const lo = all.reduce((a, b) => Math.min(a, b));
  const hi = all.reduce((a, b) => Math.max(a, b)) * 1.05 || 1;
  const width = (hi - lo) / BINS || 1;
  const count = (values: number[]) => {
    const bins = new Array<number>(BINS).fill(0);
    for (const v of values) bins[Math.min(BINS - 1, Math.floor((v - lo) / width))]!++;
    return bins;
  };
  const ok = count(scores.ok);
  const ng = count(scores.ng);
  const top = Math.max(1, ...ok, ...ng);
  const x = (v: number) => PAD + ((v - lo) / (hi - lo)) * (W - 2 * PAD);
  const bar = (n: number) => (n / top) * (H - 2 * PAD);
  const binW = (W - 2 * PAD) / BINS;
  const drag = (e: PointerEvent) => {
    if (!svg.current || (e.type === "pointermove" && e.buttons !== 1)) return;
    const box = svg.current.getBoundingClientRect();
    const px = ((e.clientX - box.left) / box.width) * W;
    onThreshold(Math.max(lo, Math.min(hi, lo + ((px - PAD) / (W - 2 * PAD)) * (hi - lo))));
  };
  return (
    <svg
      ref={svg}
      class="histogram"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Scores: ${scores.ok.length} OK, ${scores.ng.length} NG; threshold ${threshold.toPrecision(4)}`}
      onPointerDown={drag}
      onPointerMove={drag}
    >
      {ok.map((n, i) => (
        <rect class="bar-ok" x={PAD + i * binW} y={H - PAD - bar(n)} width={binW / 2} height={bar(n)} />
      ))}
      {ng.map((n, i) => (
        <rect class="bar-ng" x={PAD + i * binW + binW / 2} y={H - PAD - bar(n)} width={binW / 2} height={bar(n)} />
      ))}
      <line class="axis" x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} />
      <text x={PAD} y={H - 8}>
        {lo.toPrecision(3)}
      </text>
      <text x={W - PAD} y={H - 8} text-anchor="end">
        {hi.toPrecision(3)}
      </text>
      <line class="threshold" x1={x(threshold)} y1={PAD / 2} x2={x(threshold)} y2={H - PAD} />
      <text class="threshold-label" x={x(threshold) + 4} y={PAD / 2 + 10}>
        {threshold.toPrecision(4)}
      </text>
    </svg>
  );
}

/** Scores pasted as text (a JSON array, or numbers apart by spaces, new lines, commas or semicolons); anything else is refused, naming it. */
function parseScores(text: string, what: string): number[] {
  const cleaned = text.replace(/[[\]]/g, " ");
  if (!cleaned.includes(".") && /\d,\d/.test(cleaned)) throw new Error(`${what}: these read as decimal commas; write decimals with a point (0.031)`);
  const tokens = cleaned.split(/[\s,;]+/).filter((t) => t !== "");
  const bad = tokens.find((t) => !Number.isFinite(Number(t)));
  if (bad !== undefined) throw new Error(`${what}: "${bad}" is not a number`);
  return tokens.map(Number);
}

/** Calibrate: the OK and NG scores (from the stored sets, or given), a threshold to drag and see what it passes, then stored. */
export function CalibrateView({ ids, onError, onChanged }: { ids: ModelIds; onError: (e: unknown) => void; onChanged: () => void }) {
  const [scores, setScores] = useState<Scores | null>(null);
  const [threshold, setThreshold] = useState(0);
  /** What the threshold field holds while it is edited (null: it shows the threshold), so that a re-render never wipes what is typed. */
  const [typed, setTyped] = useState<string | null>(null);
  const [busy, setBusy] = useState<{ done: number; total: number } | null>(null);
  const [okText, setOkText] = useState("");
  const [ngText, setNgText] = useState("");
  const [saved, setSaved] = useState<string | null>(null);
  const [rule, setRule] = useState<Rule>("old");
  const [target, setTarget] = useState("0.01");
  const [rates, setRates] = useState<{ falseAlarms: Rate; misses: Rate | null; warnings: string[] } | null>(null);

  const fromDataset = async () => {
    if (!confirm(`Score every stored OK and NG image and store the threshold the rule "${rule}" chooses? The version served uses it from then on.`)) return;
    setBusy({ done: 0, total: 0 });
    setSaved(null);
    try {
      const answer = await call(
        client().calibrateDataset({ ...ids, require_ng: false, rule, ...(rule === "false_alarm_rate" ? { target: Number(target) } : {}) }),
      );
      const result = ("job_id" in answer ? await followJob(answer as unknown as JobAccepted, (done, total) => setBusy({ done, total })) : answer) as {
        threshold: number;
        scores?: { label: string; score: number | null }[];
        false_alarm_rate: Rate;
        miss_rate: Rate | null;
        warnings: { message: string }[];
      };
      setRates({ falseAlarms: result.false_alarm_rate, misses: result.miss_rate, warnings: result.warnings.map((w) => w.message) });
      const items = result.scores ?? [];
      const ok = items.filter((s) => s.label === "ok" && s.score !== null).map((s) => s.score!);
      const ng = items.filter((s) => s.label === "ng" && s.score !== null).map((s) => s.score!);
      setScores({ ok, ng, stored: result.threshold });
      setThreshold(result.threshold);
      setSaved(`Rule "${rule}" chose ${num(result.threshold)} from ${ok.length} OK and ${ng.length} NG images, and stored it.`);
      onChanged();
    } catch (error) {
      onError(error);
    } finally {
      setBusy(null);
    }
  };

  const fromText = () => {
    let ok: number[], ng: number[];
    try {
      ok = parseScores(okText, "OK scores");
      ng = parseScores(ngText, "NG scores");
    } catch (error) {
      return onError(error);
    }
    if (ok.length === 0) return onError(new Error("Give at least one OK score"));
    setScores({ ok, ng, stored: null });
    setThreshold(ok.reduce((a, b) => Math.max(a, b)));
    setSaved(null);
  };

  const save = async () => {
    if (!scores) return;
    try {
      const stored = await call(
        client().calibrateNg({ ...ids, ok_scores: scores.ok, ng_scores: scores.ng.length ? scores.ng : null, rule: "fixed", threshold }),
      );
      setRates({ falseAlarms: stored.false_alarm_rate, misses: stored.miss_rate, warnings: stored.warnings.map((w) => w.message) });
      setSaved(`Stored: threshold ${num(stored.threshold)} for version ${stored.model_version ?? "(none yet)"}.`);
      onChanged();
    } catch (error) {
      onError(error);
    }
  };

  const flaggedOk = scores ? scores.ok.filter((s) => s >= threshold).length : 0;
  const passedNg = scores ? scores.ng.filter((s) => s < threshold).length : 0;
  return (
    <div class="view">
      <Section title="Scores">
        <div class="form row">
          <label class="field">
            <span>Rule</span>
            <select name="rule" value={rule} onChange={(e) => setRule((e.target as HTMLSelectElement).value as Rule)}>
              <option value="old">old backend's (99th percentile of OK)</option>
              <option value="false_alarm_rate">at most a false-alarm rate</option>
              <option value="f1">best F1 (needs NG images)</option>
            </select>
          </label>
          {rule === "false_alarm_rate" ? (
            <label class="field small">
              <span>Target (share of good parts)</span>
              <input name="target" inputMode="decimal" value={target} onInput={(e) => setTarget((e.target as HTMLInputElement).value)} />
            </label>
          ) : null}
          <button type="button" onClick={fromDataset} disabled={busy !== null}>
            Score the stored images and store the rule's threshold
          </button>
        </div>
        <p class="hint">The rule's threshold is stored with its cross-validated error rates; drag the line below to choose another and store that.</p>
        {busy ? <Progress label="scoring the dataset" done={busy.done} total={busy.total} /> : null}
        <details>
          <summary>or paste scores</summary>
          <div class="form row">
            <label class="field">
              <span>OK scores</span>
              <textarea name="ok_scores" rows={3} value={okText} onInput={(e) => setOkText((e.target as HTMLTextAreaElement).value)} />
            </label>
            <label class="field">
              <span>NG scores</span>
              <textarea name="ng_scores" rows={3} value={ngText} onInput={(e) => setNgText((e.target as HTMLTextAreaElement).value)} />
            </label>
            <button type="button" class="secondary" onClick={fromText}>
              Show
            </button>
          </div>
        </details>
      </Section>
      {scores ? (
        <Section title="Threshold">
          <Histogram scores={scores} threshold={threshold} onThreshold={setThreshold} />
          <div class="form row">
            <label class="field">
              <span>Threshold</span>
              <input
                type="number"
                step="any"
                name="threshold"
                value={typed ?? threshold.toPrecision(6)}
                onInput={(e) => {
                  const text = (e.target as HTMLInputElement).value;
                  setTyped(text);
                  if (text.trim() !== "" && Number.isFinite(Number(text))) setThreshold(Number(text));
                }}
                onBlur={() => setTyped(null)}
              />
            </label>
            <p class="counts" aria-live="polite">
              At {num(threshold)}: <strong>{flaggedOk}</strong> of {scores.ok.length} good parts flagged (false alarms
              {scores.ok.length ? `, ${num((100 * flaggedOk) / scores.ok.length, 3)} %` : ""}), <strong>{passedNg}</strong> of {scores.ng.length} defective
              parts passed (misses{scores.ng.length ? `, ${num((100 * passedNg) / scores.ng.length, 3)} %` : ""}).
            </p>
            <button type="button" onClick={save}>
              Store this threshold
            </button>
          </div>
          {saved ? (
            <p class="hint" role="status">
              {saved}
            </p>
          ) : null}
          {rates ? (
            <div class="rates" aria-label="Error rates of the stored threshold">
              <p>
                Good parts flagged: {describeRate(rates.falseAlarms)}
                <br />
                Defects passed: {describeRate(rates.misses)}
              </p>
              {rates.warnings.map((w) => (
                <p class="note">{w}</p>
              ))}
            </div>
          ) : null}
        </Section>
      ) : null}
    </div>
  );
}

import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, apiKey, call, client, setApiKey } from "./api";
import { ErrorBox } from "./components";
import { cleanIds, describeModel, loadCurrent, loadRecent, remember, type ModelIds } from "./model";
import { BatchView } from "./views/batch";
import { CalibrateView } from "./views/calibrate";
import { DatasetsView } from "./views/datasets";
import { FitView } from "./views/fit";
import { InspectView, type InspectTarget } from "./views/inspect";
import { VersionsView } from "./views/versions";

const TABS = ["Datasets", "Fit", "Inspect", "Calibrate", "Batch", "Versions"] as const;
type Tab = (typeof TABS)[number];

/** What the header shows of the chosen model: its active version and threshold. */
interface ModelSummary {
  readonly memoryFitted: boolean;
  readonly activeVersion: number | null;
  readonly threshold: number | null;
}

function ModelPicker({ ids, onChange }: { ids: ModelIds | null; onChange: (ids: ModelIds) => void }) {
  const [draft, setDraft] = useState<ModelIds>(ids ?? { role_id: "", roi_id: "" });
  const [recent, setRecent] = useState(loadRecent);
  const field = (name: keyof ModelIds, label: string, required: boolean) => (
    <label class="field">
      <span>{label}</span>
      <input
        name={name}
        value={draft[name] ?? ""}
        required={required}
        placeholder={required ? "" : "default"}
        onInput={(e) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value })}
      />
    </label>
  );
  return (
    <form
      class="picker"
      aria-label="Model"
      onSubmit={(e) => {
        e.preventDefault();
        const chosen = cleanIds(draft);
        if (!chosen.role_id || !chosen.roi_id) return;
        setRecent(remember(chosen));
        onChange(chosen);
      }}
    >
      {field("role_id", "Role", true)}
      {field("roi_id", "ROI", true)}
      {field("model_key", "Model key", false)}
      {field("recipe_id", "Recipe", false)}
      <button type="submit">Open</button>
      {recent.length > 0 ? (
        <label class="field">
          <span>Recent</span>
          <select
            aria-label="Recent models"
            value=""
            onChange={(e) => {
              const picked = recent[Number((e.target as HTMLSelectElement).value)];
              if (picked) {
                setDraft(picked);
                setRecent(remember(picked));
                onChange(picked);
              }
            }}
          >
            <option value="">choose...</option>
            {recent.map((m, i) => (
              <option value={String(i)}>{describeModel(m)}</option>
            ))}
          </select>
        </label>
      ) : null}
    </form>
  );
}

/** Asks for the stage's API key; true when one was given. */
function askForKey(why: string): boolean {
  const key = prompt(`${why}This stage's API key (kept in this browser tab only, never in a URL; empty removes it):`, apiKey() ?? "");
  if (key === null) return false;
  setApiKey(key.trim() || null);
  return key.trim() !== "";
}

function KeyButton({ stamp }: { stamp: number }) {
  const [hasKey, setHasKey] = useState(apiKey() !== null);
  useEffect(() => setHasKey(apiKey() !== null), [stamp]);
  return (
    <button type="button" class="secondary" onClick={() => setHasKey(askForKey(""))}>
      {hasKey ? "Key set" : "Key"}
    </button>
  );
}

export function App() {
  const [ids, setIds] = useState<ModelIds | null>(loadCurrent);
  const [tab, setTab] = useState<Tab>("Datasets");
  const [service, setService] = useState<string>("");
  const [summary, setSummary] = useState<ModelSummary | null>(null);
  const [error, setErrorNow] = useState<unknown>(null);
  const [keyStamp, setKeyStamp] = useState(0);
  /** Shows an error; when the stage wants an API key this tab has not given, asks for it and reloads what failed. */
  const setError = useCallback((e: unknown) => {
    setErrorNow(e);
    if (e instanceof ApiError && e.status === 403 && e.code === "gateway" && askForKey("The API refused the request: it needs an API key. ")) {
      setErrorNow(null);
      setKeyStamp((s) => s + 1);
      setStamp((s) => s + 1);
    }
  }, []);
  const [stamp, setStamp] = useState(0);
  const [target, setTarget] = useState<InspectTarget | null>(null);
  /** Something stored changed (a fit, an activation, a calibration): views reload what they show. */
  const changed = useCallback(() => setStamp((s) => s + 1), []);

  useEffect(() => {
    call(client().health())
      .then((h) => setService(`${h.model} (${h.version})`))
      .catch((e: unknown) => setError(e));
  }, [keyStamp]);

  useEffect(() => {
    if (!ids) return;
    setSummary(null);
    call(client().listModels(ids))
      .then((models) => {
        const active = models.versions.find((v) => v.active);
        const threshold = active?.calibration && typeof active.calibration.threshold === "number" ? active.calibration.threshold : null;
        setSummary({ memoryFitted: active !== undefined, activeVersion: models.active_version, threshold });
      })
      .catch((e: unknown) => setError(e));
  }, [ids, stamp]);

  const inspect = (next: InspectTarget) => {
    setTarget(next);
    setTab("Inspect");
  };

  return (
    <div class="app">
      <header class="top">
        <h1>PatchCore console</h1>
        <span class="service" title="the model the service runs">
          {service}
        </span>
        <KeyButton stamp={keyStamp} />
      </header>
      <ModelPicker ids={ids} onChange={setIds} />
      <ErrorBox error={error} onClose={() => setError(null)} />
      {ids ? (
        <>
          <p class="model-line" aria-live="polite">
            <strong>{describeModel(ids)}</strong>
            {summary === null
              ? " ..."
              : summary.memoryFitted
                ? ` - version ${summary.activeVersion} active, ${summary.threshold === null ? "not calibrated" : `threshold ${summary.threshold.toPrecision(4)}`}`
                : " - not fitted yet"}
          </p>
          <nav class="tabs" role="tablist" aria-label="Views">
            {TABS.map((name) => (
              <button type="button" role="tab" aria-selected={tab === name} class={tab === name ? "tab active" : "tab"} onClick={() => setTab(name)}>
                {name}
              </button>
            ))}
          </nav>
          <main aria-label={tab}>
            {tab === "Datasets" ? <DatasetsView ids={ids} onError={setError} /> : null}
            {tab === "Fit" ? <FitView ids={ids} onError={setError} onChanged={changed} /> : null}
            {tab === "Inspect" ? <InspectView ids={ids} target={target} onError={setError} onChanged={changed} stamp={stamp} /> : null}
            {tab === "Calibrate" ? <CalibrateView ids={ids} onError={setError} onChanged={changed} /> : null}
            {tab === "Batch" ? <BatchView ids={ids} onError={setError} onInspect={inspect} onChanged={changed} /> : null}
            {tab === "Versions" ? <VersionsView ids={ids} onError={setError} onChanged={changed} stamp={stamp} /> : null}
          </main>
        </>
      ) : (
        <p class="hint">
          Name a model (role and ROI; model key and recipe are optional) and open it. The service keeps no list of models: recent ones are remembered in this
          browser.
        </p>
      )}
    </div>
  );
}

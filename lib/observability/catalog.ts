/**
 * Every metric the service emits, its unit and its dimensions: the one list the code, the README's
 * metrics table and serverless.yml's alarms and dashboard are checked against
 * (test/unit/observability.test.ts, test/integration/operationsTemplate.test.ts).
 */

/** The CloudWatch namespace of every metric of this service. */
export const METRICS_NAMESPACE = "PatchCoreInspection";

/** CloudWatch units the service uses (Powertools' MetricUnit values). */
export type MetricUnitName = "Count" | "Milliseconds" | "None";

export const METRIC_CATALOG = {
  // per /infer answered, dimensions service + recipe (+ role, roi with METRICS_PER_ROI)
  Inspections: { unit: "Count", dimensions: "line" },
  Defects: { unit: "Count", dimensions: "line" },
  ScoreToThreshold: { unit: "None", dimensions: "line" },
  OverDriftLevel: { unit: "Count", dimensions: "line" },
  // per /infer answered, service + recipe
  InferLatency: { unit: "Milliseconds", dimensions: "recipe" },
  Forward: { unit: "Milliseconds", dimensions: "recipe" },
  Knn: { unit: "Milliseconds", dimensions: "recipe" },
  Store: { unit: "Milliseconds", dimensions: "recipe" },
  // per fit committed (uploaded images, a dataset, an append), service + recipe
  Fits: { unit: "Count", dimensions: "recipe" },
  FitImages: { unit: "Count", dimensions: "recipe" },
  FitDuration: { unit: "Milliseconds", dimensions: "recipe" },
  // per job ended (a dataset fit, /infer_dataset, /calibrate_dataset run by the job runner), service + recipe + kind, and service alone
  JobImages: { unit: "Count", dimensions: "job" },
  JobDuration: { unit: "Milliseconds", dimensions: "job" },
  JobFailures: { unit: "Count", dimensions: "job" },
  // per error answered or raised by a worker or a job, service + code
  Errors: { unit: "Count", dimensions: "code" },
  // per cold start (Powertools), service + function_name
  ColdStart: { unit: "Count", dimensions: "function" },
} as const satisfies Record<string, { unit: MetricUnitName; dimensions: string }>;

export type MetricName = keyof typeof METRIC_CATALOG;

import type { MetricName } from "./catalog";

/** Dimension name -> value (ids as they are: the recorder makes them valid dimension values). */
export type Dimensions = Readonly<Record<string, string>>;

/** Values by metric name; an undefined value is left out (e.g. ScoreToThreshold of an uncalibrated model). */
export type MetricValues = Readonly<Partial<Record<MetricName, number | undefined>>>;

/** What a use case records its metrics into: one invocation's, written when it ends. */
export interface MetricsRecorder {
  /**
   * `values` under `dimensions` (the service is always one of them); `alsoBy`: more dimension sets
   * the same values are published under (a finer one such as the ROI, or `{}` for the service alone).
   */
  add(dimensions: Dimensions, values: MetricValues, alsoBy?: readonly Dimensions[]): void;
}

/** Records nothing (the bench and unit tests calling use cases directly). */
export const noMetrics: MetricsRecorder = { add: () => undefined };

import { Metrics as PowertoolsMetrics } from "@aws-lambda-powertools/metrics";
import { METRIC_CATALOG, METRICS_NAMESPACE, type MetricName } from "./catalog";
import { dimensionValue } from "./dimensionValue";
import type { Dimensions, MetricsRecorder, MetricValues } from "./recorder";

interface Group {
  readonly dimensions: Dimensions;
  readonly alsoBy: readonly Dimensions[];
  readonly values: [MetricName, number][];
}

const valid = (dimensions: Dimensions): Dimensions => Object.fromEntries(Object.entries(dimensions).map(([name, value]) => [name, dimensionValue(value)]));

/**
 * One invocation's metrics, grouped by their dimension sets; publish() writes one line of
 * CloudWatch's embedded metric format per group (values recorded twice under one name become the
 * line's list of values), which CloudWatch Logs turns into metrics: no API call, no agent.
 */
export class InvocationMetrics implements MetricsRecorder {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly output: EmfMetrics | null) {}

  add(dimensions: Dimensions, values: MetricValues, alsoBy: readonly Dimensions[] = []): void {
    if (!this.output) return;
    const group = { dimensions: valid(dimensions), alsoBy: alsoBy.map(valid), values: [] as [MetricName, number][] };
    const key = JSON.stringify([group.dimensions, group.alsoBy]);
    const held = this.groups.get(key) ?? group;
    this.groups.set(key, held);
    for (const [name, value] of Object.entries(values) as [MetricName, number | undefined][])
      if (value !== undefined && Number.isFinite(value))
        held.values.push([name, METRIC_CATALOG[name].unit === "Milliseconds" ? Math.round(value * 100) / 100 : value]);
  }

  publish(): void {
    const groups = [...this.groups.values()].filter((g) => g.values.length > 0);
    this.groups.clear();
    for (const group of groups) this.output!.write(group);
  }
}

/**
 * The process's metric output, Powertools' Metrics (namespace PatchCoreInspection, a `service`
 * dimension on everything). Off, it keeps nothing and writes nothing.
 */
export class EmfMetrics {
  private readonly powertools: PowertoolsMetrics;

  constructor(
    readonly enabled: boolean,
    service: string,
  ) {
    this.powertools = new PowertoolsMetrics({ namespace: METRICS_NAMESPACE, serviceName: service });
  }

  /** A recorder for one invocation. */
  open(): InvocationMetrics {
    return new InvocationMetrics(this.enabled ? this : null);
  }

  /** ColdStart = 1 (dimensions service and function_name) the first time in this process. */
  coldStart(functionName: string | undefined): void {
    if (this.enabled) this.powertools.captureColdStartMetric(functionName);
  }

  /**
   * A group's line: its dimensions, and each further set that shares none of them (e.g. the
   * service alone); a set that repeats one of them (the ROI's, which repeats the recipe) gets a
   * line of its own, as Powertools warns of a dimension defined twice in one line.
   */
  write(group: Group): void {
    const shares = (set: Dimensions) => Object.keys(set).some((name) => name in group.dimensions);
    this.line(
      group.dimensions,
      group.alsoBy.filter((set) => !shares(set)),
      group.values,
    );
    for (const set of group.alsoBy.filter(shares)) this.line(set, [], group.values);
  }

  private line(dimensions: Dimensions, alsoBy: readonly Dimensions[], values: readonly [MetricName, number][]): void {
    const metrics = this.powertools;
    for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
    for (const set of alsoBy) metrics.addDimensions(set);
    for (const [name, value] of values) metrics.addMetric(name, METRIC_CATALOG[name].unit, value);
    metrics.publishStoredMetrics();
  }
}

import type { DataPoint } from "./alarmEvaluator";

/** One line of CloudWatch's embedded metric format, as a function printed it. */
export interface EmfLine {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { Name: string; Unit: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

/** The EMF lines in some output (other lines, and text before a line's JSON, ignored). */
export function emfLines(output: string): EmfLine[] {
  return output
    .split("\n")
    .map((line) => line.slice(line.indexOf("{")))
    .filter((line) => line.startsWith('{"_aws":'))
    .map((line) => JSON.parse(line) as EmfLine);
}

/**
 * The data points CloudWatch makes of a line: every metric's every value under every dimension
 * set, each set's dimensions with their values from the line (as CloudWatch Logs reads EMF).
 */
export function dataPoints(line: EmfLine, timeMs = line._aws.Timestamp): DataPoint[] {
  const out: DataPoint[] = [];
  for (const directive of line._aws.CloudWatchMetrics) {
    for (const set of directive.Dimensions) {
      const dimensions = Object.fromEntries(set.map((name) => [name, String(line[name])]));
      for (const metric of directive.Metrics) {
        const raw = line[metric.Name];
        for (const value of Array.isArray(raw) ? (raw as number[]) : [raw as number])
          out.push({ namespace: directive.Namespace, metric: metric.Name, dimensions, value, timeMs });
      }
    }
  }
  return out;
}

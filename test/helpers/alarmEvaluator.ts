/**
 * A CloudWatch alarm on a Metrics Insights query, evaluated on data points in memory: enough of
 * CloudWatch's semantics to check what the drift alarm of scripts/deploy/serverless-operations.js
 * says about a series, from the alarm resource itself (its query, period, threshold, comparison,
 * evaluation periods, missing-data treatment). The query language is the subset the alarm uses:
 *
 *   SELECT AVG|SUM|COUNT|MIN|MAX(metric) FROM SCHEMA("namespace", dim, ...) [WHERE dim = 'v' [AND ...]] [GROUP BY dim, ...]
 *
 * anything else throws, so the test cannot pass on a query this does not understand.
 */

/** One value as EMF publishes it: a metric, its dimensions (service included), a time. */
export interface DataPoint {
  readonly namespace: string;
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timeMs: number;
}

export interface Query {
  readonly fn: "AVG" | "SUM" | "COUNT" | "MIN" | "MAX";
  readonly metric: string;
  readonly namespace: string;
  readonly schema: readonly string[];
  readonly where: Readonly<Record<string, string>>;
  readonly groupBy: readonly string[];
}

const QUERY =
  /^SELECT (AVG|SUM|COUNT|MIN|MAX)\((\w+)\) FROM SCHEMA\("([^"]+)"((?:, \w+)*)\)(?: WHERE (\w+ = '[^']*'(?: AND \w+ = '[^']*')*))?(?: GROUP BY (\w+(?:, \w+)*))?$/;

export function parseQuery(expression: string): Query {
  const m = QUERY.exec(expression);
  if (!m) throw new Error(`Not a query this evaluator understands: ${expression}`);
  const where = Object.fromEntries(
    (m[5] ?? "")
      .split(" AND ")
      .filter(Boolean)
      .map((clause) => {
        const [, key, value] = /^(\w+) = '([^']*)'$/.exec(clause)!;
        return [key!, value!];
      }),
  );
  return {
    fn: m[1] as Query["fn"],
    metric: m[2]!,
    namespace: m[3]!,
    schema: m[4]!.split(", ").filter(Boolean),
    where,
    groupBy: m[6] ? m[6].split(", ") : [],
  };
}

function aggregate(fn: Query["fn"], values: readonly number[]): number {
  if (fn === "COUNT") return values.length;
  if (fn === "SUM") return values.reduce((a, b) => a + b, 0);
  if (fn === "AVG") return values.reduce((a, b) => a + b, 0) / values.length;
  return fn === "MIN" ? Math.min(...values) : Math.max(...values);
}

/** The query's value per group (JSON of the group's dimension values) per period start, periods aligned to the epoch. */
export function evaluateQuery(query: Query, periodSeconds: number, points: readonly DataPoint[]): Map<string, Map<number, number>> {
  const matched = new Map<string, Map<number, number[]>>();
  const schema = [...query.schema].sort().join(",");
  for (const p of points) {
    if (p.namespace !== query.namespace || p.metric !== query.metric) continue;
    if (Object.keys(p.dimensions).sort().join(",") !== schema) continue; // SCHEMA: exactly these dimensions
    if (Object.entries(query.where).some(([k, v]) => p.dimensions[k] !== v)) continue;
    const group = JSON.stringify(query.groupBy.map((k) => p.dimensions[k]));
    const period = Math.floor(p.timeMs / 1000 / periodSeconds) * periodSeconds;
    const byPeriod = matched.get(group) ?? new Map<number, number[]>();
    byPeriod.set(period, [...(byPeriod.get(period) ?? []), p.value]);
    matched.set(group, byPeriod);
  }
  return new Map([...matched].map(([group, byPeriod]) => [group, new Map([...byPeriod].map(([t, values]) => [t, aggregate(query.fn, values)]))]));
}

export interface AlarmProperties {
  readonly Metrics: readonly { readonly Expression?: string; readonly Period?: number; readonly ReturnData?: boolean }[];
  readonly Threshold: number;
  readonly ComparisonOperator: string;
  readonly EvaluationPeriods: number;
  readonly DatapointsToAlarm?: number;
  readonly TreatMissingData?: string;
}

const BREACHES: Record<string, (value: number, threshold: number) => boolean> = {
  GreaterThanThreshold: (v, t) => v > t,
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/**
 * The alarm's state per group at the end of each period from `fromSeconds` to `toSeconds`
 * (ALARM when DatapointsToAlarm of the last EvaluationPeriods periods breach; a missing period is
 * not breaching under TreatMissingData notBreaching, the only treatment understood here).
 */
export function alarmStates(
  alarm: AlarmProperties,
  points: readonly DataPoint[],
  fromSeconds: number,
  toSeconds: number,
): Map<string, Map<number, "ALARM" | "OK">> {
  const returned = alarm.Metrics.filter((m) => m.ReturnData !== false);
  if (returned.length !== 1 || !returned[0]!.Expression || !returned[0]!.Period) throw new Error("Expected one Metrics Insights query with a period");
  if ((alarm.TreatMissingData ?? "missing") !== "notBreaching") throw new Error(`TreatMissingData ${alarm.TreatMissingData} is not understood here`);
  const breaches = BREACHES[alarm.ComparisonOperator];
  if (!breaches) throw new Error(`ComparisonOperator ${alarm.ComparisonOperator} is not understood here`);
  const period = returned[0]!.Period;
  const values = evaluateQuery(parseQuery(returned[0]!.Expression), period, points);
  const needed = alarm.DatapointsToAlarm ?? alarm.EvaluationPeriods;
  const states = new Map<string, Map<number, "ALARM" | "OK">>();
  for (const [group, series] of values) {
    const byEnd = new Map<number, "ALARM" | "OK">();
    for (let start = Math.floor(fromSeconds / period) * period; start < toSeconds; start += period) {
      let breaching = 0;
      for (let k = 0; k < alarm.EvaluationPeriods; k++) {
        const value = series.get(start - k * period);
        if (value !== undefined && breaches(value, alarm.Threshold)) breaching++;
      }
      byEnd.set(start + period, breaching >= needed ? "ALARM" : "OK");
    }
    states.set(group, byEnd);
  }
  return states;
}

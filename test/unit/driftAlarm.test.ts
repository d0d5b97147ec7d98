/* eslint-disable @typescript-eslint/no-require-imports */
// The drift alarm of scripts/deploy/serverless-operations.js, evaluated on synthetic lines whose
// inspections go through the service's own recording (lib/app/lineMetrics.ts -> EMF lines as
// Powertools writes them -> data points as CloudWatch reads them).
import { recordInspection } from "../../lib/app/lineMetrics";
import type { Services } from "../../lib/app/services";
import type { UseCaseContext } from "../../lib/context";
import { METRICS_NAMESPACE } from "../../lib/observability/catalog";
import { EmfMetrics } from "../../lib/observability/emf";
import { modelIdentity } from "../../lib/store/keys";
import { SeededRandom } from "../../lib/random";
import { Timings } from "../../lib/util/timings";
import { alarmStates, parseQuery, type AlarmProperties, type DataPoint } from "../helpers/alarmEvaluator";
import { dataPoints, emfLines } from "../helpers/emf";

const { operationsResources, operationsSettings } = require("../../scripts/deploy/serverless-operations.js");

const SERVICE = "patchcore-inspection-prod";
const LEVEL = 0.8;
const HOUR = 3600;
/** A power of two, so score / threshold gives back a ratio exactly (a ratio at the level is a true tie). */
const THRESHOLD = 0.25;

function driftAlarms(metricsPerRoi: boolean): Record<string, AlarmProperties> {
  const settings = operationsSettings({
    namespace: METRICS_NAMESPACE,
    driftLevel: LEVEL,
    driftWindowMinutes: 60,
    metricsPerRoi,
  });
  const resources = operationsResources(settings, [], { prefix: SERVICE, service: SERVICE, api: "prod-patchcore-inspection" });
  return Object.fromEntries(
    Object.entries(resources as Record<string, { Type: string; Properties: AlarmProperties }>)
      .filter(([id]) => /DriftAlarm$/.test(id))
      .map(([id, r]) => [id, r.Properties]),
  );
}

interface Inspection {
  readonly recipe: string;
  readonly roi?: string;
  /** score / threshold; null: the model is not calibrated. */
  readonly ratio: number | null;
  readonly timeSeconds: number;
}

/** Each inspection recorded as /infer records it, written as its EMF lines, read back as data points. */
function publish(inspections: readonly Inspection[], metricsPerRoi: boolean): DataPoint[] {
  const emf = new EmfMetrics(true, SERVICE);
  const services = { config: { observability: { metricsPerRoi, driftLevel: LEVEL } } } as unknown as Services;
  const points: DataPoint[] = [];
  const write = jest.spyOn(process.stdout, "write");
  try {
    for (const inspection of inspections) {
      let written = "";
      write.mockImplementation((chunk: string | Uint8Array) => ((written += String(chunk)), true));
      const metrics = emf.open();
      const ctx = { metrics, timings: new Timings(), elapsedMs: () => 1 } as unknown as UseCaseContext;
      const score = inspection.ratio === null ? 0.1 : inspection.ratio * THRESHOLD;
      recordInspection(
        services,
        modelIdentity("Line", inspection.roi ?? "Pattern", undefined, inspection.recipe),
        { score, threshold: inspection.ratio === null ? null : THRESHOLD },
        ctx,
      );
      metrics.publish();
      for (const line of emfLines(written)) points.push(...dataPoints(line, inspection.timeSeconds * 1000));
    }
  } finally {
    write.mockRestore();
  }
  return points;
}

/** The lower median: the middle value, or the lower of the two middle ones. */
function lowerMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1]!;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe("the drift alarm (median score / threshold over a window above the drift level)", () => {
  const alarms = driftAlarms(true);

  it("is one Metrics Insights query per recipe, and per ROI when the line's metrics are per ROI", () => {
    expect(Object.keys(driftAlarms(false))).toEqual(["DriftAlarm"]);
    expect(Object.keys(alarms).sort()).toEqual(["DriftAlarm", "RoiDriftAlarm"]);
    expect(parseQuery(alarms.DriftAlarm!.Metrics[0]!.Expression!)).toEqual({
      fn: "AVG",
      metric: "OverDriftLevel",
      namespace: METRICS_NAMESPACE,
      schema: ["recipe", "service"],
      where: { service: SERVICE },
      groupBy: ["recipe"],
    });
    expect(parseQuery(alarms.RoiDriftAlarm!.Metrics[0]!.Expression!).groupBy).toEqual(["recipe", "role", "roi"]);
    expect(alarms.DriftAlarm!.Metrics[0]!.Period).toBe(HOUR);
  });

  it("ignores defects a mean would count, alarms on good parts creeping towards the threshold, per recipe, and waits out idle hours", () => {
    const random = new SeededRandom(23);
    const inspections: Inspection[] = [];
    const ratiosByHour = new Map<string, number[]>();
    for (let hour = 0; hour < 12; hour++) {
      for (let i = 0; i < 200; i++) {
        const t = hour * HOUR + (i * HOUR) / 200;
        // a steady line: good parts at 0.45 of the threshold, but 15 % defects far above it
        const steady = random.next() < 0.15 ? 2.5 + 2.5 * random.next() : 0.45 + 0.08 * random.normal();
        // a drifting line (a camera moving, lighting ageing): good parts from 0.45 to 0.95 of the threshold in 12 h, 2 % defects
        const centre = 0.45 + (0.5 * t) / (12 * HOUR);
        const drifting = random.next() < 0.02 ? 3 : centre + 0.05 * random.normal();
        inspections.push({ recipe: "steady", ratio: steady, timeSeconds: t });
        if (hour !== 5) inspections.push({ recipe: "drifting", ratio: drifting, timeSeconds: t }); // hour 5: the line stands still
        inspections.push({ recipe: "uncalibrated", ratio: null, timeSeconds: t });
        for (const [recipe, ratio] of [
          ["steady", steady],
          ["drifting", hour === 5 ? null : drifting],
        ] as const)
          if (ratio !== null) ratiosByHour.set(`${recipe}/${hour}`, [...(ratiosByHour.get(`${recipe}/${hour}`) ?? []), ratio]);
      }
    }
    const states = alarmStates(alarms.DriftAlarm!, publish(inspections, false), 0, 12 * HOUR);
    // an uncalibrated model publishes no OverDriftLevel: no series, no alarm
    expect([...states.keys()].sort()).toEqual(['["drifting"]', '["steady"]']);
    const at = (recipe: string, hour: number) => states.get(JSON.stringify([recipe]))!.get((hour + 1) * HOUR);

    for (let hour = 0; hour < 12; hour++) {
      const steady = ratiosByHour.get(`steady/${hour}`)!;
      // the test's point: the mean of a healthy line with defects is above the level, its median is not
      expect(mean(steady)).toBeGreaterThan(LEVEL);
      expect(at("steady", hour)).toBe("OK");
      // the alarm is exactly "the window's (lower) median above the level"
      const drifting = ratiosByHour.get(`drifting/${hour}`);
      expect([hour, at("drifting", hour)]).toEqual([hour, drifting && lowerMedian(drifting) > LEVEL ? "ALARM" : "OK"]);
    }
    // and when: quiet while good parts stay clearly under the level (centre below 0.75 by the end of hour 7), the idle hour too,
    // alarming once they are clearly over it (centre above 0.85 from hour 10)
    expect([0, 1, 2, 3, 4, 5, 6].map((h) => at("drifting", h))).toEqual(Array(7).fill("OK"));
    expect([10, 11].map((h) => at("drifting", h))).toEqual(["ALARM", "ALARM"]);
  });

  it("fires when more than half of a window is above the level, exactly: any size, ties at the level not above", () => {
    const random = new SeededRandom(7);
    const inspections: Inspection[] = [];
    const expected: ("ALARM" | "OK")[] = [];
    for (let window = 0; window < 300; window++) {
      const n = 1 + random.int(40);
      const ratios = Array.from({ length: n }, () => [LEVEL, LEVEL - 0.05, LEVEL + 0.05, 0.2, 3][random.int(5)]!);
      ratios.forEach((ratio, i) => inspections.push({ recipe: "r", ratio, timeSeconds: window * HOUR + i }));
      expected.push(lowerMedian(ratios) > LEVEL ? "ALARM" : "OK");
    }
    const states = alarmStates(alarms.DriftAlarm!, publish(inspections, false), 0, 300 * HOUR).get('["r"]')!;
    expect(expected.map((_, window) => states.get((window + 1) * HOUR))).toEqual(expected);
    expect(expected.filter((s) => s === "ALARM").length).toBeGreaterThan(30);
    expect(expected.filter((s) => s === "OK").length).toBeGreaterThan(30);
  });

  it("per ROI: one drifting ROI among steady ones alarms on its own while its recipe's median stays put", () => {
    const random = new SeededRandom(3);
    const inspections: Inspection[] = [];
    for (let i = 0; i < 600; i++) {
      const roi = ["A", "B", "C"][i % 3]!;
      inspections.push({ recipe: "line-7", roi, ratio: (roi === "C" ? 0.92 : 0.4) + 0.04 * random.normal(), timeSeconds: (i * HOUR) / 600 });
    }
    const points = publish(inspections, true);
    expect(alarmStates(alarms.DriftAlarm!, points, 0, HOUR).get('["line-7"]')!.get(HOUR)).toBe("OK");
    const byRoi = alarmStates(alarms.RoiDriftAlarm!, points, 0, HOUR);
    expect(Object.fromEntries([...byRoi].map(([group, s]) => [group, s.get(HOUR)]))).toEqual({
      '["line-7","Line","A"]': "OK",
      '["line-7","Line","B"]': "OK",
      '["line-7","Line","C"]': "ALARM",
    });
  });
});

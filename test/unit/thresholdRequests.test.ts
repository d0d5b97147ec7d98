import { batchCommand } from "../../lib/app/batch/scoreDataset";
import { parseWith } from "../../lib/contract/parse";
import { routes } from "../../lib/contract/routes";

const ng = { role_id: "a", roi_id: "b", ok_scores: [0.1, 0.2] };
const dataset = { role_id: "a", roi_id: "b" };

describe("the threshold rule fields of /calibrate_ng and /calibrate_dataset", () => {
  it.each([
    ["an unknown rule", { rule: "median" }, /^rule must be "old", "false_alarm_rate", "f1" or "fixed", got "median"$/],
    ["fixed without its threshold", { rule: "fixed" }, /^Missing field threshold: rule "fixed" stores the threshold given$/],
    ["a threshold without rule fixed", { threshold: 0.2 }, /^threshold applies only to rule "fixed" \(rule is "old"\)$/],
    ["a threshold of 0", { rule: "fixed", threshold: 0 }, /^threshold must be a number > 0, got 0$/],
    [
      "false_alarm_rate without its target",
      { rule: "false_alarm_rate" },
      /^Missing field target: rule "false_alarm_rate" needs the largest share of good parts/,
    ],
    ["a target of 0", { rule: "false_alarm_rate", target: 0 }, /^target must be a number between 0 and 1 \(exclusive\), e\.g\. 0\.005 for 0\.5 %, got 0$/],
    ["a target of 1", { rule: "false_alarm_rate", target: 1 }, /^target must be a number between 0 and 1 \(exclusive\).*, got 1$/],
    ["a target as text", { rule: "false_alarm_rate", target: "0.01" }, /^target must be a number between 0 and 1 \(exclusive\).*, got "0\.01"$/],
    ["a target with rule f1", { rule: "f1", target: 0.01, ng_scores: [0.5] }, /^target applies only to rule "false_alarm_rate" \(rule is "f1"\)$/],
    ["a target without a rule", { target: 0.01 }, /^target applies only to rule "false_alarm_rate" \(rule is "old"\)$/],
  ])("one message per mistake: %s", (_name, fields, message) => {
    expect(() => parseWith(routes.calibrateNg.request, { ...ng, ...fields })).toThrow(message);
    expect(() => parseWith(routes.calibrateDataset.request, { ...dataset, ...fields, ng_scores: undefined })).toThrow(message);
  });

  it("rule f1 on /calibrate_ng needs NG scores, said of ng_scores", () => {
    for (const ngScores of [undefined, null, []]) {
      expect(() => parseWith(routes.calibrateNg.request, { ...ng, rule: "f1", ng_scores: ngScores })).toThrow(
        /^rule "f1" needs ng_scores: it chooses the threshold/,
      );
    }
    expect(parseWith(routes.calibrateNg.request, { ...ng, rule: "f1", ng_scores: [0.5] })).toMatchObject({ rule: "f1", ng_scores: [0.5] });
  });

  it("include_curve is a boolean", () => {
    expect(() => parseWith(routes.calibrateDataset.request, { ...dataset, include_curve: "yes" })).toThrow(/^include_curve must be true or false$/);
    expect(parseWith(routes.calibrateDataset.request, { ...dataset, include_curve: true, rule: "false_alarm_rate", target: 0.01 })).toMatchObject({
      include_curve: true,
      rule: "false_alarm_rate",
      target: 0.01,
    });
  });

  it("leaves the old requests as they were: no rule is the old rule", () => {
    const parsed = parseWith(routes.calibrateNg.request, { ...ng, ng_scores: [0.5] });
    expect([parsed.rule, parsed.target]).toEqual([undefined, undefined]);
  });

  it("a /calibrate_dataset job's command keeps the rule, its target and the curve flag (the job runner parses it)", () => {
    const command = {
      identity: { roleId: "a", roiId: "b", modelKey: "b", recipeId: "default" },
      labels: ["ok", "ng"],
      includeHeatmap: false,
      defaultMmPerPx: null,
      modelVersion: 2,
      calibration: { requireNg: true, rule: "false_alarm_rate", target: 0.01, includeCurve: true },
    };
    expect(batchCommand.parse(JSON.parse(JSON.stringify(command))).calibration).toEqual(command.calibration);
  });
});

import { spawnSync } from "node:child_process";
import path from "node:path";
import { PROJECT_ROOT } from "../helpers/testStack";

/** Loads a function module as Lambda's INIT does (module scope runs: the composition root). */
function init(fn: string, env: Record<string, string>) {
  return spawnSync(path.join(PROJECT_ROOT, "node_modules/.bin/tsx"), ["-e", `require("./functions/${fn}")`], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, MODEL_DIR: path.join(PROJECT_ROOT, "layers/runtime/models"), ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("a function's INIT (composition root at module scope)", () => {
  it.each(["calibrateNg", "infer"])("fails %s's INIT loudly on a bad config value, naming the variable", (fn) => {
    const result = init(fn, { LOG_LEVEL: "verbose" });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/Invalid configuration: LOG_LEVEL="verbose": expected debug\|info\|warn\|error\|silent/);
  });

  it("loads the ONNX model during INIT, before any request", () => {
    const result = init("infer", { LOG_LEVEL: "info" });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/"message":"model loaded".*"model":"texture-s14-v1"/);
  });
});

import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { brushedMetal, encodePng, paintSpot } from "../../scripts/synthetic/images";
import { PROJECT_ROOT, sharedStack, type TestStack } from "../helpers/testStack";

/** Runs the CLI as a user would (bin/patchcore-inspect.js, a child process). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "bin/patchcore-inspect.js"), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("the CLI against the local stack", () => {
  let stack: TestStack;
  let dir: string;
  const model = ["--role", "Cli", "--roi", "Plate"];

  beforeAll(async () => {
    stack = await sharedStack("main"); // FIT_CHUNK_IMAGES=4
    dir = await mkdtemp(path.join(os.tmpdir(), "cli-"));
    for (const [folder, seeds, spot] of [
      ["good", [1, 2, 3, 4, 5, 6], false],
      ["ok", [20, 21], false],
      ["ng", [40, 41], true],
    ] as const) {
      await mkdir(path.join(dir, folder));
      for (const seed of seeds) {
        const image = spot ? paintSpot(brushedMetal(160, 120, seed), 80, 60, 8) : brushedMetal(160, 120, seed);
        await writeFile(path.join(dir, folder, `${seed}.png`), await encodePng(image));
      }
    }
  }, 180_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("fits a folder through the dataset, calibrates from folders, and infers with exit codes scripts can use", async () => {
    const url = ["--url", stack.url];
    const fit = await cli([...url, "fit", path.join(dir, "good"), ...model, "--mm-per-px", "0.1"]);
    expect(fit.code).toBe(0);
    expect(JSON.parse(fit.stdout)).toMatchObject({ n_images: 6, fan_out: { workers: 2 } });

    const calibrate = await cli([...url, "calibrate", ...model, "--ok", path.join(dir, "ok"), "--ng", path.join(dir, "ng"), "--area-mm2-thr", "0.5"]);
    expect(calibrate.code).toBe(0);
    expect(JSON.parse(calibrate.stdout).threshold).toBeGreaterThan(0);

    const good = await cli([...url, "infer", path.join(dir, "ok"), ...model]); // mm_per_px from the fit
    expect([
      good.code,
      good.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).verdict),
    ]).toEqual([0, ["ok", "ok"]]);

    const out = path.join(dir, "overlays");
    const bad = await cli([...url, "infer", path.join(dir, "ng"), ...model, "--out", out]);
    expect(bad.code).toBe(1);
    const lines = bad.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.verdict)).toEqual(["defect", "defect"]);
    expect(lines[0].regions.length).toBeGreaterThan(0);
    expect((await readdir(out)).sort()).toEqual(["40_overlay.png", "41_overlay.png"]);
    expect((await sharp(path.join(out, "40_overlay.png")).metadata()).format).toBe("png");

    const status = await cli([...url, "status", ...model]);
    expect([status.code, JSON.parse(status.stdout)]).toEqual([
      0,
      expect.objectContaining({ memory: true, datasets: expect.objectContaining({ classes: { ok: expect.objectContaining({ count: 6 }) } }) }),
    ]);
  }, 180_000);

  it("exits 2 on a usage error and 3 when the service refuses, with one line on stderr", async () => {
    const usage = await cli(["infer"]);
    expect(usage.code).toBe(2);
    const missing = await cli(["--url", stack.url, "infer", path.join(dir, "nope"), ...model]);
    expect([missing.code, missing.stderr.trim()]).toEqual([2, `patchcore-inspect: ${path.join(dir, "nope")}: no such file or folder`]);
    const refused = await cli(["--url", stack.url, "infer", path.join(dir, "ok"), "--role", "Nobody", "--roi", "None"]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/HTTP 400 not_fitted: Memory not found for \(Nobody, None\)/);
    const down = await cli(["--url", "http://127.0.0.1:9", "status"]);
    expect([down.code, down.stderr]).toEqual([3, expect.stringMatching(/could not be reached/)]);
    // options that do not go together are usage errors, said before any request (the URL answers nothing)
    const offline = ["--url", "http://127.0.0.1:9"];
    const ok = path.join(dir, "ok");
    for (const [args, message] of [
      [["models", "activate", "abc", ...model], "version must be a whole number >= 1"],
      [["models", "list", "7", ...model], "models list takes no version (it lists them all)"],
      [["compare", ok, "--versions", "2,2", ...model], "--versions takes two different versions, e.g. 5,4"],
      [["fit", ok, "--mm-per-px", "0.1", "--model-version", "2", ...model], "--model-version names the version to append to: use it with --append"],
      [["fit", ok, "--mm-per-px", "0.1", "--append", "--memory-fit", ...model], "--memory-fit is for a whole fit"],
      [["calibrate", "--target", "0.1", ...model], "--target goes with --rule false_alarm_rate"],
      [["calibrate", "--rule", "false_alarm_rate", ...model], "--rule false_alarm_rate needs --target"],
      [["calibrate", "--rule", "false_alarm_rate", "--target", "5", ...model], "--target is a share of good parts, between 0 and 1 (e.g. 0.005), got 5"],
      [["calibrate", "--rule", "f1", "--ok", ok, ...model], "--rule f1 needs defective images too: add --ng <folder>"],
    ] as const) {
      const answer = await cli([...offline, ...args]);
      expect([args.join(" "), answer.code, answer.stderr]).toEqual([args.join(" "), 2, expect.stringContaining(message)]);
      expect(answer.stderr.trim().split("\n")).toHaveLength(1);
    }
  }, 60_000);
});

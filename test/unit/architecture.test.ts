import { execFileSync } from "node:child_process";
import { importCycles, importGraph, layerViolations, type ImportGraph } from "../../scripts/util/importGraph";
import { PROJECT_ROOT } from "../helpers/testStack";

/** The production code's files: handlers, lib/ and the web console. */
function productionFiles(): string[] {
  return execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "functions", "lib", "console"], { cwd: PROJECT_ROOT, encoding: "utf8" })
    .trim()
    .split("\n")
    .filter((f) => /\.tsx?$/.test(f));
}

describe("the import graph of functions/, lib/ and console/", () => {
  const graph = importGraph(PROJECT_ROOT, productionFiles());

  it("is read from the code (a sanity check of the reader itself)", () => {
    expect(graph.size).toBeGreaterThan(80);
    expect(graph.get("functions/infer.ts")).toEqual(expect.arrayContaining(["lib/http/route.ts"]));
  });

  it("has no import of a layer above or beside the importer's (functions import only lib/http, lib/app and lib/contract; the console only lib/contract)", () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it("has no import cycle between files", () => {
    expect(importCycles(graph)).toEqual([]);
  });
});

describe("the rules themselves fail on a broken graph", () => {
  const broken: ImportGraph = new Map([
    ["functions/infer.ts", ["lib/store/keys.ts", "lib/app/inspection/inspect.ts"]],
    ["lib/app/inspection/inspect.ts", ["lib/app/models/modelCache.ts"]],
    ["lib/app/models/modelCache.ts", ["lib/app/inspection/inspect.ts"]],
    ["lib/store/keys.ts", ["lib/app/identity.ts", "lib/errors.ts"]],
    ["lib/app/identity.ts", []],
    ["lib/http/route.ts", ["lib/app/identity.ts"]],
    ["lib/errors.ts", []],
  ]);

  it("names each import that breaks the layering", () => {
    expect(layerViolations(broken)).toEqual([
      "functions/infer.ts -> lib/store/keys.ts: functions may import only lib/http, lib/app, lib/contract",
      "lib/http/route.ts -> lib/app/identity.ts: lib/app is beside lib/http",
      "lib/store/keys.ts -> lib/app/identity.ts: lib/app is above lib/store",
    ]);
  });

  it("names the files of each cycle", () => {
    expect(importCycles(broken)).toEqual([["lib/app/inspection/inspect.ts", "lib/app/models/modelCache.ts"]]);
  });
});

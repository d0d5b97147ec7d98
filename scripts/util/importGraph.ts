import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * The project's import graph, read with the TypeScript compiler's own pre-processor (every
 * `import`, `export ... from`, `import()` and `require()` of a file), and the two rules the
 * layout keeps: no cycle between files, and no import of a layer above the importer's.
 */

/** Layers from the top; a file may import its own folder's files and any layer below its own, never one beside or above. */
export const LAYERS: readonly (readonly string[])[] = [
  ["console", "functions"],
  ["lib/app", "lib/http"],
  ["lib/jobs"],
  ["lib/contract"],
  ["lib/store"],
  ["lib/patchcore"],
  ["lib/features"],
  ["lib/image"],
  ["lib/onnx"],
  ["lib/context.ts"],
  ["lib/observability"],
  ["lib/log.ts"],
  ["lib/config"],
  ["lib/errors.ts", "lib/random.ts"],
  ["lib/util"],
];

/** What a layer may import besides the layers below it: functions are thin adapters over these only. */
export const ONLY: Readonly<Record<string, readonly string[]>> = {
  functions: ["lib/http", "lib/app", "lib/contract"],
  // the web console runs in a browser: the API's contract is all it may know of the service
  console: ["lib/contract"],
};

export type ImportGraph = ReadonlyMap<string, readonly string[]>;

const EXTENSIONS = [".ts", ".tsx", ".js", "/index.ts", "/index.js"];

function resolve(fromFile: string, spec: string, exists: (file: string) => boolean): string | null {
  if (!spec.startsWith(".")) return null; // a package: outside the graph
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), spec));
  if (exists(base)) return base;
  for (const ext of EXTENSIONS) if (exists(base + ext)) return base + ext;
  return base; // a JSON file or something the compiler resolves otherwise: kept as a node
}

/** Files (paths relative to `root`, posix) -> the project files each imports. */
export function importGraph(root: string, files: readonly string[]): ImportGraph {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(path.join(root, file), "utf8"), true, true);
    const targets = info.importedFiles.map((f) => resolve(file, f.fileName, (c) => known.has(c))).filter((t): t is string => t !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The layer entry a file belongs to ("lib/app", "lib/log.ts", ...), or null for files outside the layers. */
export function layerOf(file: string): { entry: string; rank: number } | null {
  for (const [rank, entries] of LAYERS.entries()) {
    for (const entry of entries) if (file === entry || file.startsWith(entry + "/")) return { entry, rank };
  }
  return null;
}

/** Every import that breaks the layering, as "importer -> imported: why". */
export function layerViolations(graph: ImportGraph): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    if (!from) continue;
    for (const target of targets) {
      const to = layerOf(target);
      if (!to) {
        if (!target.endsWith(".json")) out.push(`${file} -> ${target}: imports a file outside the layers`);
        continue;
      }
      if (to.entry === from.entry) continue;
      const only = ONLY[from.entry];
      if (only && !only.includes(to.entry)) out.push(`${file} -> ${target}: ${from.entry} may import only ${only.join(", ")}`);
      else if (to.rank <= from.rank) out.push(`${file} -> ${target}: ${to.entry} is ${to.rank === from.rank ? "beside" : "above"} ${from.entry}`);
    }
  }
  return out.sort();
}

/** Every import cycle (strongly connected component of more than one file, or a file importing itself), each as its files. */
export function importCycles(graph: ImportGraph): string[][] {
  // Tarjan's strongly connected components
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

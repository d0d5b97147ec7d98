import { readFileSync } from "node:fs";
import path from "node:path";
import { loadConfig, VARIABLES, type Variable } from "../../lib/config";
import { datasetKeys, jobKeys, KEY_FOLDERS, modelIdentity, modelKeys, recipeMetaKey, uploadKey } from "../../lib/store/keys";
import { deployedValue, syncedReadme, syncedServerlessYml } from "../../scripts/config/sources";
import { parseServerlessYml, type ServerlessYml } from "../../scripts/util/serverlessYml";
import { PROJECT_ROOT } from "../helpers/testStack";

const ymlText = readFileSync(path.join(PROJECT_ROOT, "serverless.yml"), "utf8");
const readmeText = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
const variables = Object.entries(VARIABLES) as [string, Variable<unknown>][];

/** Every way serverless.yml's configuration can disagree with lib/config/variables.ts, in words. */
function environmentDifferences(yml: ServerlessYml): string[] {
  const out: string[] = [];
  const environment = yml.provider.environment;
  const expected = new Map(variables.flatMap(([name, v]) => (deployedValue(name, v) === undefined ? [] : [[name, deployedValue(name, v)!]])));
  for (const name of Object.keys(environment)) {
    if (name !== "NODE_OPTIONS" && !expected.has(name)) out.push(`serverless.yml sets ${name}, which lib/config/variables.ts does not read`);
  }
  for (const [name, value] of expected) {
    if (!(name in environment)) out.push(`serverless.yml does not pass ${name}`);
    else if (String(environment[name]) !== value)
      out.push(`serverless.yml gives ${name} ${JSON.stringify(environment[name])}, the table says ${JSON.stringify(value)}`);
  }
  // the defaults serverless.yml needs at deploy time itself (IAM prefixes, the layer's model)
  for (const [custom, name] of [
    ["modelsPrefix", "MODELS_PREFIX"],
    ["modelName", "MODEL_NAME"],
  ] as const) {
    const want = `\${env:${name}, '${String(VARIABLES[name].default)}'}`;
    if (yml.custom[custom] !== want) out.push(`serverless.yml's custom.${custom} is ${JSON.stringify(yml.custom[custom])}, not ${JSON.stringify(want)}`);
  }
  return out;
}

/** The key folders serverless.yml names under the models prefix (IAM statements, lifecycle rules), each with where. */
function namedFolders(yml: ServerlessYml): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (value: unknown, where: string) => {
    if (typeof value === "string") {
      for (const m of value.matchAll(/\$\{self:custom\.modelsPrefix\}([^*\s]+)/g)) out.set(where, m[1]!);
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) visit(v, `${where}.${k}`);
    }
  };
  visit(yml.custom, "custom");
  visit(yml.resources, "resources");
  return out;
}

describe("one source of configuration: lib/config/variables.ts", () => {
  const yml = parseServerlessYml(ymlText);

  it("serverless.yml's environment is the table's, written by npm run config:sync", () => {
    expect(syncedServerlessYml(ymlText) === ymlText).toBe(true);
    expect(environmentDifferences(yml)).toEqual([]);
  });

  it("the README's configuration table is the table's, written by npm run config:sync", () => {
    expect(syncedReadme(readmeText) === readmeText).toBe(true);
  });

  it("the defaults of an empty environment are the table's (what `${env:NAME, ''}` gives a deployed function)", () => {
    const empty = Object.fromEntries(variables.map(([name]) => [name, ""]));
    expect(loadConfig(empty)).toEqual(loadConfig({}));
    expect(loadConfig({}).patchcore.coresetRate).toBe(VARIABLES.CORESET_RATE.default);
  });

  it("fails on a variable serverless.yml passes that the table does not have, a default written again, or a missing one", () => {
    const mutated = [
      ymlText.replace("    LOG_LEVEL: ${env:LOG_LEVEL, ''}", "    LOG_LEVEL: ${env:LOG_LEVEL, 'info'}"),
      ymlText.replace("    LOG_LEVEL: ${env:LOG_LEVEL, ''}\n", ""),
      ymlText.replace("    LOG_LEVEL: ${env:LOG_LEVEL, ''}", "    LOG_LEVEL: ${env:LOG_LEVEL, ''}\n    WORKER_FAULT: ${env:WORKER_FAULT, ''}"),
      ymlText.replace("modelsPrefix: ${env:MODELS_PREFIX, 'models/'}", "modelsPrefix: ${env:MODELS_PREFIX, 'model/'}"),
      ymlText.replace("    ORT_THREADS: ${env:ORT_THREADS, '2'}", "    ORT_THREADS: ${env:ORT_THREADS, ''}"),
    ];
    expect(mutated.map((text) => text !== ymlText)).toEqual(mutated.map(() => true));
    expect(mutated.map((text) => environmentDifferences(parseServerlessYml(text)))).toEqual([
      ["serverless.yml gives LOG_LEVEL \"${env:LOG_LEVEL, 'info'}\", the table says \"${env:LOG_LEVEL, ''}\""],
      ["serverless.yml does not pass LOG_LEVEL"],
      ["serverless.yml sets WORKER_FAULT, which lib/config/variables.ts does not read"],
      [`serverless.yml's custom.modelsPrefix is "\${env:MODELS_PREFIX, 'model/'}", not "\${env:MODELS_PREFIX, 'models/'}"`],
      ["serverless.yml gives ORT_THREADS \"${env:ORT_THREADS, ''}\", the table says \"${env:ORT_THREADS, '2'}\""],
    ]);
    expect(syncedServerlessYml(mutated[0]!) === mutated[0]).toBe(false);
  });
});

describe("one S3 key layout: lib/store/keys.ts", () => {
  const yml = parseServerlessYml(ymlText);
  const prefix = "models/";
  const identity = modelIdentity("Master1", "Pattern", undefined, "line-7");

  it("makes every key under the prefix, in the folder it belongs to", () => {
    expect(recipeMetaKey(prefix, "line-7").startsWith(prefix + KEY_FOLDERS.recipeMeta)).toBe(true);
    expect(uploadKey(prefix, "u1").startsWith(prefix + KEY_FOLDERS.uploads)).toBe(true);
    const job = jobKeys(prefix, "j1");
    for (const key of [job.state, job.chunk(3, "npz"), job.result]) expect(key.startsWith(prefix + KEY_FOLDERS.jobs)).toBe(true);
    expect(datasetKeys(prefix, identity).catalog.startsWith(prefix + KEY_FOLDERS.datasets)).toBe(true);
    const model = modelKeys(prefix, identity);
    for (const key of [model.versions, model.memoryFor("f"), model.legacyMemory, model.legacyCalibration, model.hnswIndexFor("f")])
      expect(key.startsWith(prefix + KEY_FOLDERS.recipes)).toBe(true);
    const defaultRecipe = modelKeys(prefix, modelIdentity("Master1", "Pattern"));
    // a model of the default recipe sits at the prefix itself, never in one of the folders
    for (const folder of Object.values(KEY_FOLDERS)) expect(defaultRecipe.legacyMemory.startsWith(prefix + folder)).toBe(false);
  });

  it("serverless.yml's IAM statements and lifecycle rules name exactly the folders the code writes to apart", () => {
    const named = namedFolders(yml);
    expect(Object.fromEntries(named)).toEqual({
      "custom.uploadsPrefix": KEY_FOLDERS.uploads,
      "custom.iam.writeRecipeMeta.Resource.Fn::Sub": `${KEY_FOLDERS.recipeMeta}`,
      "custom.iam.writeJobs.Resource.Fn::Sub": `${KEY_FOLDERS.jobs}`,
      "resources.Resources.ModelsBucket.Properties.LifecycleConfiguration.Rules.2.Prefix": KEY_FOLDERS.jobs,
    });
    const lifecycle = yml.resources.Resources.ModelsBucket.Properties.LifecycleConfiguration.Rules as { Id: string; Prefix?: string }[];
    expect(lifecycle.filter((r) => r.Prefix !== undefined).map((r) => [r.Id, r.Prefix])).toEqual([
      ["ExpireAbandonedUploads", "${self:custom.uploadsPrefix}"],
      ["ExpireJobs", `\${self:custom.modelsPrefix}${KEY_FOLDERS.jobs}`],
    ]);
  });
});

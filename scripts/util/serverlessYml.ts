import { readFileSync } from "node:fs";
import path from "node:path";
import { parse, type ScalarTag } from "yaml";

/** CloudFormation's short-form intrinsics as serverless.yml writes them (`!Ref X`, `!Sub "..."`, `!GetAtt A.B`), read as their long form. */
const intrinsics: ScalarTag[] = ["Ref", "Sub", "GetAtt", "ImportValue"].map((name) => ({
  tag: `!${name}`,
  resolve: (value: string) => (name === "Ref" ? { Ref: value } : { [`Fn::${name}`]: name === "GetAtt" ? value.split(".") : value }),
}));

/** A function of serverless.yml, as far as the project's checks read it. */
export interface ServerlessFunction {
  readonly handler: string;
  readonly memorySize?: number;
  readonly timeout?: number;
  readonly events?: readonly { http?: { path: string; method: string } }[];
  readonly iamRoleStatements?: readonly { Effect: string; Action: string | string[]; Resource: unknown }[];
  readonly [key: string]: unknown;
}

export interface ServerlessYml {
  readonly provider: { readonly memorySize?: number; readonly environment: Readonly<Record<string, string>>; readonly [key: string]: unknown };
  readonly custom: Readonly<Record<string, any>>;
  readonly functions: Readonly<Record<string, ServerlessFunction>>;
  readonly resources: { readonly Resources: Readonly<Record<string, any>> };
  readonly [key: string]: unknown;
}

/**
 * serverless.yml parsed as YAML, variables (`${...}`) left as written: what the checks of its
 * environment, routes, IAM prefixes and sizes read.
 */
export function parseServerlessYml(text: string): ServerlessYml {
  return parse(text, { customTags: intrinsics }) as ServerlessYml;
}

export function readServerlessYml(root = path.resolve(__dirname, "../..")): ServerlessYml {
  return parseServerlessYml(readFileSync(path.join(root, "serverless.yml"), "utf8"));
}

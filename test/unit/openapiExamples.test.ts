import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { z } from "zod";
import { openApiDocument } from "../../lib/contract/openapi";
import { routes, type RouteSpec } from "../../lib/contract/routes";

type Schema = Record<string, unknown> & { examples?: unknown[] };
const doc = openApiDocument("test") as { components: { schemas: Record<string, Schema> } };

/** A validator of the document's own JSON Schemas (2020-12, what OpenAPI 3.1 uses), $refs resolved inside the document. */
function documentValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat("binary", true); // multipart file parts
  ajv.addSchema({ $id: "openapi", components: doc.components });
  return (name: string) => ajv.compile({ $ref: `openapi#/components/schemas/${name}` });
}

const withExamples = Object.entries(doc.components.schemas).filter(([, schema]) => Array.isArray(schema.examples) && schema.examples.length > 0);

describe("the OpenAPI document's examples", () => {
  const validatorOf = documentValidator();

  it("are there for the requests and answers integrators look at first", () => {
    expect(withExamples.map(([name]) => name)).toEqual(
      expect.arrayContaining(["HealthResponse", "Error", "CalibrateNgRequest", "CalibrateNgResponse", "PutRecipeSettingsRequest", "RecipeSettingsResponse"]),
    );
  });

  it.each(withExamples.map(([name, schema]) => [name, schema.examples!]))("of %s validate against the document's own schema", (name, examples) => {
    const validate = validatorOf(name);
    for (const example of examples) {
      const ok = validate(example);
      expect([name, ok ? "valid" : JSON.stringify(validate.errors)]).toEqual([name, "valid"]);
    }
  });

  it("would be caught if one broke its schema (the check is real)", () => {
    const validate = validatorOf("CalibrateNgResponse");
    const broken = { ...(doc.components.schemas.CalibrateNgResponse!.examples![0] as object), threshold: "high" };
    expect(validate(broken)).toBe(false);
    const missing = { ...(doc.components.schemas.HealthResponse!.examples![0] as Record<string, unknown>) };
    delete missing.model;
    expect(validatorOf("HealthResponse")(missing)).toBe(false);
  });

  it("are accepted by the zod schemas the service itself parses with and answers by", () => {
    let checked = 0;
    for (const spec of Object.values(routes) as RouteSpec[]) {
      for (const [schema, io] of [
        [spec.request, "input"],
        [spec.response, "output"],
      ] as const) {
        const examples = (z.globalRegistry.get(schema) as { examples?: unknown[] } | undefined)?.examples ?? [];
        for (const example of examples) {
          const parsed = schema.safeParse(example);
          expect([spec.name, io, parsed.success ? "ok" : parsed.error.message]).toEqual([spec.name, io, "ok"]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });
});

import { readServerlessYml } from "../../scripts/util/serverlessYml";
import { z } from "zod";
import { openApiDocument } from "../../lib/contract/openapi";
import { parseWith } from "../../lib/contract/parse";
import { routes, type RouteSpec } from "../../lib/contract/routes";
import { ERROR_CODES } from "../../lib/errors";
import { HTTP_STATUS } from "../../lib/http/errorResponse";
import { PROJECT_ROOT } from "../helpers/testStack";

/** The http events of serverless.yml as "METHOD path". */
function serverlessRoutes(): string[] {
  return Object.values(readServerlessYml(PROJECT_ROOT).functions)
    .flatMap((fn) => fn.events ?? [])
    .flatMap((event) => (event.http ? [`${event.http.method.toUpperCase()} ${event.http.path}`] : []))
    .sort();
}

describe("the contract", () => {
  it("has exactly the routes serverless.yml deploys, and the OpenAPI document has them all", () => {
    const contract = (Object.values(routes) as RouteSpec[]).map((r) => `${r.method} ${r.path}`).sort();
    expect(serverlessRoutes()).toEqual(contract);
    const doc = openApiDocument("test") as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.slice(1)}`))
      .sort();
    expect(documented).toEqual(contract);
  });

  it("marks public exactly the routes serverless.yml leaves without an API key, and documents the key on the others", () => {
    const publicPaths = [...(readServerlessYml(PROJECT_ROOT).custom.apiAccess.publicPaths as string[])].sort();
    expect(
      (Object.values(routes) as RouteSpec[])
        .filter((r) => r.public)
        .map((r) => r.path)
        .sort(),
    ).toEqual(publicPaths);
    const doc = openApiDocument("test") as { paths: Record<string, Record<string, { security: unknown[] }>> };
    for (const spec of Object.values(routes) as RouteSpec[]) {
      expect([spec.path, doc.paths[`/${spec.path}`]![spec.method.toLowerCase()]!.security]).toEqual([spec.path, spec.public ? [] : [{ ApiKey: [] }]]);
    }
  });

  it("maps every error code to an HTTP status, 4xx for the client's mistakes", () => {
    for (const code of ERROR_CODES) expect(HTTP_STATUS[code]).toBeGreaterThanOrEqual(400);
    expect(
      ["invalid_input", "not_fitted", "calibration_missing", "not_found", "conflict", "too_large", "unsupported_media_type"].map(
        (c) => HTTP_STATUS[c as keyof typeof HTTP_STATUS] < 500,
      ),
    ).not.toContain(false);
  });

  it("describes the request fields and files of each route in the document", () => {
    const doc = openApiDocument("test") as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; $ref?: string } }> } }>>;
      components: { schemas: Record<string, { properties: Record<string, { type?: string; items?: unknown }> }> };
    };
    const fit = doc.components.schemas.FitOkRequest!;
    expect(Object.keys(fit.properties)).toEqual(expect.arrayContaining(["role_id", "roi_id", "mm_per_px", "memory_fit", "images"]));
    expect(fit.properties.images).toMatchObject({ type: "array", items: { type: "string", format: "binary" } });
    expect(doc.paths["/fit_ok"]!.post!.requestBody!.content["multipart/form-data"]!.schema.$ref).toBe("#/components/schemas/FitOkRequest");
    expect(doc.paths["/calibrate_ng"]!.post!.requestBody!.content["application/json"]).toBeDefined();
    expect(JSON.stringify(doc)).not.toContain("#/$defs/");
  });

  it.each([
    [
      "a form's mm_per_px with a decimal comma",
      routes.fitOk.request,
      { role_id: "a", roi_id: "b", mm_per_px: "0,2", images: [] },
      /use '\.' as the decimal point/,
    ],
    [
      "a JSON mm_per_px of 0",
      routes.calibrateNg.request,
      { role_id: "a", roi_id: "b", ok_scores: [1], mm_per_px: 0 },
      /^mm_per_px must be a number > 0, got 0$/,
    ],
    ["a form's mm_per_px of 0", routes.infer.request, { role_id: "a", roi_id: "b", mm_per_px: "0", image: [] }, /^mm_per_px must be a number > 0, got 0$/],
    ["an id over 256 bytes", routes.calibrateNg.request, { role_id: "é".repeat(129), roi_id: "b", ok_scores: [1] }, /^role_id is longer than 256 bytes$/],
    ["a NUL in an id", routes.calibrateNg.request, { role_id: "a\u0000", roi_id: "b", ok_scores: [1] }, /^role_id must not contain NUL characters$/],
    [
      "a score that is a string",
      routes.calibrateNg.request,
      { role_id: "a", roi_id: "b", ok_scores: [1, 2, "3"] },
      /^ok_scores\[2\] must be a finite number, got "3"$/,
    ],
  ] as [string, z.ZodType, unknown, RegExp][])("gives one specific message: %s", (_name, schema, value, message) => {
    expect(() => parseWith(schema, value)).toThrow(message);
  });

  it("coerces multipart text: .NET's True, invariant numbers, blank optional ids", () => {
    const input = parseWith(routes.fitOk.request, {
      role_id: "a",
      roi_id: "b",
      model_key: "",
      mm_per_px: " 1e-1 ",
      memory_fit: "True",
      images: [{ field: "images", filename: "x", mimeType: "image/png", data: Buffer.alloc(1) }],
    });
    expect(input).toMatchObject({ mm_per_px: 0.1, memory_fit: true, use_dataset: false });
    expect(input.model_key).toBeUndefined();
  });
});

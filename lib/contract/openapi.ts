import { z } from "zod";
import { ERROR_CODES } from "../errors";
import { errorBody } from "./common";
import { routes, type RouteSpec } from "./routes";

type Json = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  400: "A field is missing, malformed or out of range; an image cannot be decoded; no memory is fitted.",
  404: "The thing named does not exist.",
  409: "The request conflicts with what is stored.",
  413: "A body, file, image or result is over a limit; the message states it.",
  415: "Wrong Content-Type for this route.",
  403: "Answered by API Gateway (code gateway): a missing or invalid x-api-key on a stage that requires one, or a client address outside the stage's source ranges.",
  429: "Answered by API Gateway (code throttled): over the stage's or the key's request rate, or the key's quota.",
  500: "Our fault; details only in the logs.",
  503: "A dependency (S3, the model) is not available, or a stored artefact cannot be read; the message says what to do.",
};

/**
 * zod drops `examples` from the input side of a schema that transforms (they describe its output);
 * a request schema's examples are written as clients send them, so they stay.
 */
function keepInputExamples(io: "input" | "output") {
  return (ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }) => {
    if (io !== "input") return;
    const examples = (z.globalRegistry.get(ctx.zodSchema as z.ZodType) as { examples?: unknown[] } | undefined)?.examples;
    if (examples && ctx.jsonSchema.examples === undefined) ctx.jsonSchema.examples = examples;
  };
}

/**
 * One schema as JSON Schema 2020-12 (what OpenAPI 3.1 uses), its named parts moved to
 * `components` and referenced from there. Requests are described as clients send them (io
 * "input": form fields are text), responses as the service writes them.
 */
function schemaOf(schema: z.ZodType, io: "input" | "output", components: Json): Json {
  const generated = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12", override: keepInputExamples(io) }) as Json;
  const text = JSON.stringify(generated).replaceAll('"#/$defs/', '"#/components/schemas/');
  const { $defs, $schema: _ignored, ...root } = JSON.parse(text) as Json & { $defs?: Json };
  Object.assign(components, $defs ?? {});
  return root;
}

/** A query route's fields as OpenAPI query parameters. */
function queryParametersOf(spec: RouteSpec): Json[] {
  if (spec.body !== "query") return [];
  const schema = z.toJSONSchema(spec.request, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as {
    properties?: Record<string, Json>;
    required?: string[];
    $ref?: string;
    $defs?: Record<string, { properties?: Record<string, Json>; required?: string[] }>;
  };
  const root = schema.$ref ? schema.$defs?.[schema.$ref.split("/").pop()!] : schema;
  return Object.entries(root?.properties ?? {}).map(([name, property]) => ({
    name,
    in: "query",
    required: root?.required?.includes(name) ?? false,
    schema: property,
    ...(typeof property.description === "string" ? { description: property.description } : {}),
  }));
}

function requestBodyOf(spec: RouteSpec, components: Json): Json | undefined {
  if (spec.body === "none" || spec.body === "query") return undefined;
  const mediaType = spec.body === "multipart" ? "multipart/form-data" : "application/json";
  return { required: true, content: { [mediaType]: { schema: schemaOf(spec.request, "input", components) } } };
}

/**
 * The OpenAPI 3.1 document of every route, generated from the contract's schemas. The server URL
 * "." is relative to where the document is served, so clients that read it (Swagger UI at
 * /docs) call the same stage it came from, e.g. https://<api>/prod/.
 */
export function openApiDocument(version: string, serverUrl = "."): Json {
  const components: Json = {};
  const paths: Record<string, Json> = {};
  const errorRef = schemaOf(errorBody, "output", components);
  for (const spec of Object.values(routes) as RouteSpec[]) {
    const responses: Json = {
      200: { description: "OK", content: { [spec.produces ?? "application/json"]: { schema: schemaOf(spec.response, "output", components) } } },
    };
    if (spec.accepted)
      responses[202] = {
        description: "Accepted: the work runs as a job; follow status_url.",
        content: { "application/json": { schema: schemaOf(spec.accepted, "output", components) } },
      };
    for (const status of [...spec.errors, 403, 429, 500, 503]) {
      responses[status] = { description: STATUS_TEXT[status] ?? "Error", content: { "application/json": { schema: errorRef } } };
    }
    const operation: Json = {
      operationId: spec.name,
      summary: spec.summary,
      parameters: [
        {
          name: "X-Request-Id",
          in: "header",
          required: false,
          schema: { type: "string", pattern: "^[\\w.:@-]{1,128}$" },
          description: "Echoed back; generated when absent or malformed.",
        },
        ...queryParametersOf(spec),
        ...(spec.body === "none"
          ? []
          : [
              {
                name: "X-Recipe-Id",
                in: "header",
                required: false,
                schema: { type: "string" },
                description: "recipe_id when the body does not name one (both given must agree).",
              },
            ]),
      ],
      responses,
      // stages that require a key reject a request without it (403) before the service sees it
      security: spec.public ? [] : [{ ApiKey: [] }],
    };
    const body = requestBodyOf(spec, components);
    if (body) operation.requestBody = body;
    paths[`/${spec.path}`] = { ...paths[`/${spec.path}`], [spec.method.toLowerCase()]: operation };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "PatchCore inspection API",
      version,
      description: `Industrial visual inspection: fit a memory on good images of a ROI, calibrate a threshold, then score images. Error codes: ${ERROR_CODES.join(", ")}.`,
    },
    servers: [{ url: serverUrl, description: serverUrl === "." ? "the stage this document was served from" : "the service" }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        ApiKey: {
          type: "apiKey",
          in: "header",
          name: "x-api-key",
          description:
            "The stage's API key, on stages that require one: the default when deployed; locally only when the stage setting enforceLocally is true.",
        },
      },
    },
  };
}

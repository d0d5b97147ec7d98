import type { APIGatewayProxyEvent } from "aws-lambda";
import type { z } from "zod";
import { isFileParts, isTextParts } from "../contract/files";
import { parseWith } from "../contract/parse";
import type { InputOf, RouteSpec } from "../contract/routes";
import { InvalidInputError, UnsupportedMediaTypeError } from "../errors";
import { bodyBytes } from "./body";
import { header } from "./headers";
import { parseMultipart, type MultipartLimits } from "./multipart";

const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** The JSON body of an application/json request: 415 for another type, 400 for empty or invalid JSON. */
function readJson(event: APIGatewayProxyEvent, maxBytes: number): unknown {
  const contentType = header(event, "content-type") ?? "";
  if (!JSON_CONTENT_TYPE.test(contentType)) {
    throw new UnsupportedMediaTypeError(`Content-Type must be application/json, got ${JSON.stringify(contentType || "(none)")}`);
  }
  const text = bodyBytes(event, maxBytes).toString("utf8");
  if (text.trim() === "") throw new InvalidInputError("The request body is empty: send a JSON object");
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError(`The request body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** A multipart body as a plain object keyed like the route's schema: text parts as strings, file parts as lists. */
async function readMultipart(event: APIGatewayProxyEvent, schema: z.ZodType, limits: MultipartLimits): Promise<Record<string, unknown>> {
  const form = await parseMultipart(event, limits);
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) throw new Error("a multipart route's request schema must be an object");
  const value: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(shape)) {
    const read = isFileParts(field) ? form.fileList(name) : isTextParts(field) ? form.textList(name) : form.text(name);
    if (read !== undefined) value[name] = read;
  }
  return value;
}

/** recipe_id from the body, else the X-Recipe-Id header; both given must agree. */
function withRecipeHeader(event: APIGatewayProxyEvent, value: unknown): unknown {
  const fromHeader = header(event, "x-recipe-id");
  if (fromHeader === undefined || typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const body = value as Record<string, unknown>;
  const given = body.recipe_id;
  if (given === undefined || given === null || given === "") return { ...body, recipe_id: fromHeader };
  if (given !== fromHeader) throw new InvalidInputError(`recipe_id ${JSON.stringify(given)} and the X-Recipe-Id header ${JSON.stringify(fromHeader)} differ`);
  return body;
}

/** The route's typed input from an API Gateway event: body read by its kind, then the route's schema. */
export async function requestInput<R extends RouteSpec>(spec: R, event: APIGatewayProxyEvent, limits: MultipartLimits): Promise<InputOf<R>> {
  let raw: unknown = {};
  if (spec.body === "json") raw = readJson(event, limits.maxRequestBytes);
  else if (spec.body === "multipart") raw = await readMultipart(event, spec.request, limits);
  else if (spec.body === "query") raw = { ...event.queryStringParameters, ...event.pathParameters };
  return parseWith(spec.request, withRecipeHeader(event, raw)) as InputOf<R>;
}

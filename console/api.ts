import { ApiClient, type Reply } from "../lib/contract/apiClient";
import type { ErrorBody } from "../lib/contract/common";

/** The API's base URL: where this page is mounted, less its own segment (/prod/console -> /prod). */
export function apiBase(): string {
  return `${location.origin}${location.pathname.replace(/\/console\/?$/, "")}`;
}

const KEY_STORAGE = "patchcore.apiKey";

/** The stage's API key, kept in this browser tab's session storage only (never in a URL). */
export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

export function client(): ApiClient {
  const key = apiKey();
  return new ApiClient(apiBase(), key ? { apiKey: key } : {});
}

/** An answer of the API that is not what was asked for: its own words and code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The body of a 200 (or a 202's, when `accepted`), else an ApiError with the API's message. */
export async function call<T>(pending: Promise<Reply<T>>): Promise<T> {
  let reply: Reply<T>;
  try {
    reply = await pending;
  } catch (error) {
    throw new ApiError(0, "unreachable", `The service did not answer (${(error as Error).message})`);
  }
  if (reply.status === 200 || reply.status === 202) return reply.body as T;
  const body = reply.body as ErrorBody;
  throw new ApiError(reply.status, body.code ?? "unknown", body.error ?? `HTTP ${reply.status}`);
}

/** Words for any error, as the API put them when it is the API's. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    const hint = error.code === "gateway" && error.status === 403 ? " (set this stage's API key: Key, top right)" : "";
    return `${error.message}${hint} [${error.code}]`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** PUTs a file to a presigned upload URL, reporting the bytes sent (fetch cannot report upload progress). */
export function putWithProgress(url: string, headers: Record<string, string>, file: Blob, onProgress: (sent: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`the upload answered HTTP ${xhr.status}`)));
    xhr.onerror = () => reject(new Error("the upload was refused or cut (network, or the bucket's CORS rules)"));
    xhr.send(file);
  });
}

import { ApiClient, type ClientOptions } from "./apiClient";
import { errorBody } from "./common";
import type { EndpointName } from "./endpoints";
import { routes } from "./routes";

export * from "./apiClient";

/** The typed client, and with `validate` every answer checked against the contract's schema (tests): a body that breaks it throws. */
export class InspectionClient extends ApiClient {
  private readonly validate: boolean;

  constructor(baseUrl: string, options: ClientOptions & { readonly validate?: boolean } = {}) {
    super(baseUrl, options);
    this.validate = options.validate ?? false;
  }

  protected override check(route: EndpointName, status: number, body: unknown): void {
    if (!this.validate) return;
    const spec = routes[route];
    const schema = status === 200 ? spec.response : status === 202 && "accepted" in spec && spec.accepted ? spec.accepted : errorBody;
    const checked = schema.safeParse(body);
    if (!checked.success) throw new Error(`${spec.method} /${spec.path}: HTTP ${status} body breaks the contract: ${checked.error.message}`);
  }
}

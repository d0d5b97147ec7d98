/* eslint-disable @typescript-eslint/no-require-imports */
// The serverless plugin that turns a stage's settings into API Gateway access rules, on a fake
// serverless instance (the compiled CloudFormation of the default stage is checked in package.test.ts).
const ApiAccess = require("../../scripts/deploy/serverless-api-access.js");
const { accessSettings, addressAllowed } = ApiAccess;

type Http = { path: string; method: string; private?: boolean };

function fakeServerless(apiAccess: Record<string, unknown>, command = "package", extraEvent?: Http) {
  const events = (paths: string[]) => paths.map((path) => ({ http: { path, method: "get" } as Http }));
  const service = {
    service: "patchcore-inspection",
    custom: { apiAccess: { publicPaths: ["openapi.json", "docs"], ...apiAccess } },
    provider: { apiGateway: {} as Record<string, any>, compiledCloudFormationTemplate: { Resources: {} as Record<string, any> } },
    functions: {
      health: { events: events(["health"]) },
      openapi: { events: events(["openapi.json"]) },
      docs: { events: events(["docs"]) },
      // a function someone adds later, with nothing about access in it
      jobStatus: { events: [...events(["jobs/{id}"]), ...(extraEvent ? [{ http: extraEvent }] : [])] },
    } as Record<string, { events: { http: Http }[] }>,
  };
  const serverless = {
    service,
    processedInput: { commands: [command] },
    getProvider: () => ({ getStage: () => "prod" }),
    classes: { Error },
  };
  return { serverless, service, plugin: new ApiAccess(serverless, {}, {}) };
}

const privateOf = (service: ReturnType<typeof fakeServerless>["service"]) =>
  Object.fromEntries(Object.values(service.functions).flatMap((f) => f.events.map((e) => [e.http.path, e.http.private])));

describe("API access from a stage's settings", () => {
  it("requires the key on every route but the documentation, new functions included, with one usage plan", () => {
    const { plugin, service } = fakeServerless({
      apiKeyRequired: true,
      apiKeys: "line-1,line-2",
      throttleRateLimit: 5,
      throttleBurstLimit: 8,
      quotaLimit: 1000,
      quotaPeriod: "month",
    });
    plugin.hooks.initialize();
    expect(privateOf(service)).toEqual({ health: true, "openapi.json": false, docs: false, "jobs/{id}": true });
    expect(service.provider.apiGateway.apiKeys.map((k: { name: string }) => k.name)).toEqual([
      "patchcore-inspection-prod-line-1",
      "patchcore-inspection-prod-line-2",
    ]);
    expect(service.provider.apiGateway.apiKeys.some((k: object) => "value" in k)).toBe(false); // AWS generates them
    expect(service.provider.apiGateway.usagePlan).toEqual({ quota: { limit: 1000, period: "MONTH" }, throttle: { rateLimit: 5, burstLimit: 8 } });
    expect(service.provider.apiGateway.resourcePolicy).toBeUndefined();
  });

  it("leaves an event that says private: false itself alone", () => {
    const { plugin, service } = fakeServerless({ apiKeyRequired: true }, "package", { path: "ping", method: "get", private: false });
    plugin.hooks.initialize();
    expect(privateOf(service).ping).toBe(false);
  });

  it("limits the API to source ranges with a resource policy, without keys, for a GUI that cannot send a header", () => {
    const { plugin, service } = fakeServerless({ apiKeyRequired: "false", sourceIpRanges: "203.0.113.0/24, 198.51.100.7/32" });
    plugin.hooks.initialize();
    plugin.hooks["before:package:initialize"]();
    expect(Object.values(privateOf(service))).not.toContain(true);
    expect(service.provider.apiGateway.apiKeys).toBeUndefined();
    expect(service.provider.apiGateway.usagePlan).toBeUndefined();
    expect(service.provider.apiGateway.resourcePolicy).toEqual([
      { Effect: "Allow", Principal: "*", Action: "execute-api:Invoke", Resource: ["execute-api:/*"] },
      {
        Effect: "Deny",
        Principal: "*",
        Action: "execute-api:Invoke",
        Resource: ["execute-api:/*"],
        Condition: { NotIpAddress: { "aws:SourceIp": ["203.0.113.0/24", "198.51.100.7/32"] } },
      },
    ]);
  });

  it("refuses to package a stage open to any address without a key, unless allowOpenApi says so", () => {
    const open = fakeServerless({ apiKeyRequired: false, sourceIpRanges: "" });
    expect(() => open.plugin.hooks["before:package:initialize"]()).toThrow(
      /open to any address without a key.*apiKeyRequired: true.*sourceIpRanges.*allowOpenApi: true/s,
    );
    const allowed = fakeServerless({ apiKeyRequired: false, allowOpenApi: true });
    expect(() => allowed.plugin.hooks["before:package:initialize"]()).not.toThrow();
  });

  it("throttles the stage itself (all callers together) through the deployment's stage description", () => {
    const { plugin, service } = fakeServerless({ throttleRateLimit: 3, throttleBurstLimit: 6 });
    service.provider.compiledCloudFormationTemplate.Resources.ApiGatewayDeployment123 = {
      Type: "AWS::ApiGateway::Deployment",
      Properties: { StageName: "prod" },
    };
    plugin.hooks["after:package:compileEvents"]();
    expect(service.provider.compiledCloudFormationTemplate.Resources.ApiGatewayDeployment123.Properties.StageDescription).toEqual({
      ThrottlingRateLimit: 3,
      ThrottlingBurstLimit: 6,
    });
  });

  it("keeps serverless offline open unless enforceLocally, and then uses LOCAL_API_KEY as the key", () => {
    const local = fakeServerless({ apiKeyRequired: true }, "offline");
    local.plugin.hooks.initialize();
    expect(Object.values(privateOf(local.service))).not.toContain(true);
    const saved = process.env.LOCAL_API_KEY;
    process.env.LOCAL_API_KEY = "local-secret";
    try {
      const enforced = fakeServerless({ apiKeyRequired: true, enforceLocally: "true" }, "offline");
      enforced.plugin.hooks.initialize();
      expect(privateOf(enforced.service)).toEqual({ health: true, "openapi.json": false, docs: false, "jobs/{id}": true });
      expect(enforced.service.provider.apiGateway.apiKeys).toEqual([{ name: "local", value: "local-secret" }]);
    } finally {
      if (saved === undefined) delete process.env.LOCAL_API_KEY;
      else process.env.LOCAL_API_KEY = saved;
    }
  });

  it.each([
    [{ apiKeyRequired: "maybe" }, /apiKeyRequired: expected true or false/],
    [{ sourceIpRanges: "10.0.0.0" }, /"10\.0\.0\.0" is not an IPv4 CIDR range/],
    [{ sourceIpRanges: "10.0.0.300/8" }, /not an IPv4 CIDR range/],
    [{ quotaPeriod: "YEAR" }, /quotaPeriod: expected DAY, WEEK or MONTH/],
    [{ throttleRateLimit: 0 }, /throttleRateLimit: expected a positive whole number/],
  ])("rejects a bad setting with a message naming it: %j", (settings, message) => {
    expect(() => accessSettings(settings)).toThrow(message);
  });

  it("matches addresses against CIDR ranges (IPv4 and IPv4-mapped IPv6)", () => {
    expect(addressAllowed("203.0.113.9", ["203.0.113.0/24"])).toBe(true);
    expect(addressAllowed("::ffff:203.0.113.9", ["203.0.113.0/24"])).toBe(true);
    expect(addressAllowed("203.0.114.9", ["203.0.113.0/24"])).toBe(false);
    expect(addressAllowed("127.0.0.2", ["127.0.0.1/32"])).toBe(false);
    expect(addressAllowed("8.8.8.8", ["0.0.0.0/0"])).toBe(true);
    expect(addressAllowed("::1", ["127.0.0.0/8"])).toBe(false);
  });
});

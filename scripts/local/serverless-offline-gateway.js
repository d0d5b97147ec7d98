"use strict";
/**
 * Deployed, API Gateway answers by itself when no function answers (a body over its 10 MB limit,
 * an unknown route, a crashed or timed-out function), with the GatewayResponses of serverless.yml:
 * `{"error": ..., "request_id": ...}` JSON. Locally serverless-offline answers those cases in its
 * own shapes. For `serverless offline` only, this plugin renders offline's own error answers with
 * the same GatewayResponse templates, so a client sees one error contract locally and on AWS.
 *
 * An answer is offline's own when it is an error status without the X-Request-Id header that
 * every answer of the service carries (lib/http/endpoint.ts).
 */
const { randomUUID } = require("node:crypto");
const { localSourceCheck } = require("../deploy/serverless-api-access");

const TYPE_BY_STATUS = { 413: "REQUEST_TOO_LARGE", 429: "THROTTLED", 504: "INTEGRATION_TIMEOUT" };

/** The GatewayResponse resources of the service, by response type: { template, contentType, statusCode }. */
function gatewayResponses(service) {
  const out = {};
  const resources = (service.resources && service.resources.Resources) || {};
  for (const resource of Object.values(resources)) {
    if (!resource || resource.Type !== "AWS::ApiGateway::GatewayResponse") continue;
    const p = resource.Properties || {};
    const templates = p.ResponseTemplates || {};
    const contentType = String((p.ResponseParameters || {})["gatewayresponse.header.Content-Type"] || "'application/json'").replace(/^'|'$/g, "");
    out[p.ResponseType] = { template: templates[contentType] || templates["application/json"], contentType, statusCode: p.StatusCode };
  }
  return out;
}

/** offline's answer to a private route without a valid x-api-key (API Gateway's INVALID_API_KEY). */
function isApiKeyRejection(status, headers) {
  return status === 403 && Object.entries(headers).some(([name, value]) => name.toLowerCase() === "x-amzn-errortype" && value === "ForbiddenException");
}

/** What API Gateway's $context.error.message would say, as near as offline lets us know. */
function messageOf(request, status) {
  const response = request.response;
  if (status === 403) return "Forbidden";
  if (status === 404) return `No route for ${request.method.toUpperCase()} ${request.path}`;
  if (status === 502) return "Internal server error"; // a crashed function; the cause is in offline's log
  if (status === 504) return "Endpoint request timed out";
  if (response.isBoom) return response.output.payload.message || response.output.payload.error;
  return "Error";
}

function render(template, message, requestId, request) {
  return (
    template
      .split("$context.error.messageString")
      .join(JSON.stringify(message))
      .split("$context.requestId")
      .join(requestId)
      .split("$context.httpMethod")
      .join(request.method.toUpperCase())
      // API Gateway's resourcePath is the route's template (/jobs/{id}); JSON-escaped as it sits in a string
      .split("$context.resourcePath")
      .join(JSON.stringify(String((request.route && request.route.path) || request.path)).slice(1, -1))
  );
}

class OfflineGatewayResponses {
  constructor(serverless) {
    const commands = (serverless.processedInput && serverless.processedInput.commands) || [];
    if (commands[0] !== "offline") return;
    const responses = gatewayResponses(serverless.service);
    if (Object.keys(responses).length === 0) return;
    const hapi = require("@hapi/hapi");
    if (hapi.Server.gatewayResponses) return;
    const createServer = hapi.Server;
    // serverless-offline imports @hapi/hapi's Server (a factory it calls with `new`) when it
    // starts, after the plugins are constructed: every server it makes gets the extension.
    const answer = (h, type, message) => {
      const gateway = responses[type] || responses.DEFAULT_4XX;
      const body = render(gateway.template, message, randomUUID(), h.request);
      return h
        .response(body)
        .code(Number(gateway.statusCode || 403))
        .type(gateway.contentType);
    };
    const Server = function (options) {
      const server = createServer(options);
      // the stage's source address ranges (a resource policy on AWS), when offline enforces them
      const sourceAllowed = localSourceCheck(serverless.service);
      if (sourceAllowed) {
        server.ext("onRequest", (request, h) => {
          if (sourceAllowed(request.info.remoteAddress)) return h.continue;
          request.app.gatewayAnswered = true;
          return answer(h, "ACCESS_DENIED", `User: anonymous is not authorized to perform: execute-api:Invoke from ${request.info.remoteAddress}`).takeover();
        });
      }
      server.ext("onPreResponse", (request, h) => {
        const response = request.response;
        if (request.app.gatewayAnswered) return h.continue;
        const status = response.isBoom ? response.output.statusCode : response.statusCode;
        if (status < 400) return h.continue;
        if (status === 404 && request.method === "options") {
          // Deployed, `cors: true` gives every route an OPTIONS method (a MOCK integration) that
          // answers 200 whether or not the request carries an Origin; serverless-offline answers
          // OPTIONS only for browsers' preflights (with Origin). The GUI probes without one.
          const methods = request.server
            .table()
            .filter((route) => route.path === request.route.path || route.path === request.path)
            .map((route) => route.method.toUpperCase())
            .filter((method) => /^[A-Z]+$/.test(method) && method !== "OPTIONS");
          if (methods.length > 0) {
            const allowed = [...new Set([...methods, "OPTIONS"])].join(", ");
            return h
              .response()
              .code(200)
              .header("Allow", allowed)
              .header("Access-Control-Allow-Methods", allowed)
              .header("Access-Control-Allow-Origin", request.headers.origin || "*")
              .header("Access-Control-Allow-Headers", "Content-Type,X-Request-Id,X-Recipe-Id,X-Api-Key,Authorization");
          }
        }
        const headers = (response.isBoom ? response.output.headers : response.headers) || {};
        if (Object.keys(headers).some((name) => name.toLowerCase() === "x-request-id")) return h.continue; // the service's own
        const type = isApiKeyRejection(status, headers) ? "INVALID_API_KEY" : TYPE_BY_STATUS[status] || (status < 500 ? "DEFAULT_4XX" : "DEFAULT_5XX");
        const gateway = responses[type] || responses[status < 500 ? "DEFAULT_4XX" : "DEFAULT_5XX"];
        if (!gateway || !gateway.template) return h.continue;
        const body = render(gateway.template, messageOf(request, status), randomUUID(), request);
        return h
          .response(body)
          .code(Number(gateway.statusCode || status))
          .type(gateway.contentType);
      });
      return server;
    };
    Server.gatewayResponses = true;
    hapi.Server = Server;
    hapi.server = Server;
  }
}

module.exports = OfflineGatewayResponses;

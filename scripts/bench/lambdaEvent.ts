import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";

/** An API Gateway REST event as serverless-offline and AWS build it for a binary (base64) body. */
export async function multipartEvent(path: string, form: FormData): Promise<APIGatewayProxyEvent> {
  const request = new Request("http://localhost" + path, { method: "POST", body: form });
  const body = Buffer.from(await request.arrayBuffer());
  return {
    resource: path,
    path,
    httpMethod: "POST",
    headers: { "Content-Type": request.headers.get("content-type")! },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent["requestContext"],
    body: body.toString("base64"),
    isBase64Encoded: true,
  };
}

export const lambdaContext = { functionName: "bench", getRemainingTimeInMillis: () => 29_000 } as unknown as Context;

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export async function invoke(handler: Handler, event: APIGatewayProxyEvent): Promise<Record<string, any>> {
  const response = await handler(event, lambdaContext);
  const body = JSON.parse(response.body) as Record<string, any>;
  if (response.statusCode !== 200) throw new Error(`${event.path} answered ${response.statusCode}: ${body.error}`);
  return body;
}

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { LambdaInvoker } from "../../lib/jobs/invoker";
import type { Config } from "../../lib/config";
import type { WorkerTask } from "../../lib/jobs/tasks";

/**
 * The invoker against a loopback server speaking Lambda's Invoke API: throttled invocations
 * (HTTP 429 TooManyRequestsException, which never ran) are waited out; other failures are not
 * retried here (the fan-out's one retry is for them).
 */
describe("worker invocations Lambda throttles", () => {
  let server: Server;
  let url: string;
  let answers: { status: number; type?: string; body: string }[] = [];
  const seen: string[] = [];

  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID ??= "test";
    process.env.AWS_SECRET_ACCESS_KEY ??= "test";
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on("end", () => {
        const answer = answers.shift() ?? { status: 500, body: "{}" };
        res.writeHead(answer.status, { "content-type": "application/json", ...(answer.type ? { "x-amzn-errortype": answer.type } : {}) });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => void seen.splice(0));

  const throttled = {
    status: 429,
    type: "TooManyRequestsException",
    body: '{"Reason":"ConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}',
  };
  const invoker = () => new LambdaInvoker({ lambdaEndpoint: url, workerFunction: "worker" } as Config["fanOut"], "us-east-1", undefined, [5, 5, 5]);
  const task = { kind: "score", chunk: 0, attempt: 1 } as unknown as WorkerTask & { attempt: number };

  it("tries a throttled invocation again after a wait, and answers the worker's result", async () => {
    answers = [throttled, throttled, { status: 200, body: '{"key":"jobs/j/chunks/00000.json"}' }];
    expect(await invoker().invoke(task)).toEqual({ key: "jobs/j/chunks/00000.json" });
    expect(seen).toEqual(Array(3).fill("POST /2015-03-31/functions/worker/invocations"));
  });

  it("gives up after its waits, with Lambda's error", async () => {
    answers = [throttled, throttled, throttled, throttled, throttled];
    await expect(invoker().invoke(task)).rejects.toThrow("Rate Exceeded.");
    expect(seen).toHaveLength(4);
  });

  it("does not retry any other failure (it may have run)", async () => {
    answers = [{ status: 500, type: "ServiceException", body: '{"Type":"Service","message":"Lambda was unable to run it"}' }, throttled];
    await expect(invoker().invoke(task)).rejects.toThrow("Lambda was unable to run it");
    expect(seen).toHaveLength(1);
  });
});

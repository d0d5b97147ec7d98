import { InvokeCommand, LambdaClient, TooManyRequestsException } from "@aws-sdk/client-lambda";
import type { Config } from "../config";
import type { WorkerResult, WorkerTask } from "./tasks";

/** Runs one worker task somewhere and answers its result; throws when the worker failed. */
export interface WorkerInvoker {
  invoke(task: WorkerTask & { attempt: number }): Promise<WorkerResult>;
  /** Starts a function asynchronously (a job's coordinator), returning once Lambda has queued it. */
  startAsync(functionName: string, payload: unknown): Promise<void>;
}

export class WorkerFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkerFailedError";
  }
}

/**
 * Worker invocations through the Lambda API (@aws-sdk/client-lambda): on AWS the worker
 * function, locally serverless-offline's Lambda endpoint serving the same handler. One
 * invocation per chunk, RequestResponse; retries are the fan-out's own (once per chunk), but for
 * throttling, which is waited out here.
 */
export class LambdaInvoker implements WorkerInvoker {
  private readonly client: LambdaClient;

  constructor(
    private readonly fanOut: Config["fanOut"],
    region: string,
    /** Wraps the client (X-Ray: each invocation a subsegment). */
    capture: (client: LambdaClient) => LambdaClient = (client) => client,
    /** Waits before each new try of an invocation Lambda throttled (ms, each with up to as much again at random); then the throttle is the chunk's failure. */
    private readonly throttleBackoffMs: readonly number[] = [500, 1000, 2000, 4000, 8000],
  ) {
    this.client = capture(
      new LambdaClient({
        region,
        maxAttempts: 1,
        ...(fanOut.lambdaEndpoint ? { endpoint: fanOut.lambdaEndpoint } : {}),
        // a worker may run up to its own timeout: no socket timeout shorter than that
        requestHandler: { connectionTimeout: 2000, requestTimeout: 0 },
      }),
    );
  }

  /**
   * A throttled invocation (the account's or the function's concurrency used up) never ran, so it
   * is tried again after a wait rather than spending the chunk's one retry; other failures are
   * not retried here (a timed-out invocation may have run).
   */
  private async sendThrottled(command: InvokeCommand) {
    for (let wait = 0; ; wait++) {
      try {
        return await this.client.send(command);
      } catch (error) {
        if (!(error instanceof TooManyRequestsException) || wait >= this.throttleBackoffMs.length) throw error;
        const ms = this.throttleBackoffMs[wait]!;
        await new Promise((resolve) => setTimeout(resolve, ms + Math.random() * ms));
      }
    }
  }

  async invoke(task: WorkerTask & { attempt: number }): Promise<WorkerResult> {
    const out = await this.sendThrottled(
      new InvokeCommand({ FunctionName: this.fanOut.workerFunction, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(task)) }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString("utf8") : "null";
    if (out.FunctionError) {
      let message = text;
      try {
        const parsed = JSON.parse(text) as { errorMessage?: string; errorType?: string };
        message = `${parsed.errorType ?? "Error"}: ${parsed.errorMessage ?? text}`;
      } catch {
        // not JSON: keep the text
      }
      throw new WorkerFailedError(`worker ${task.kind} chunk ${task.chunk} failed: ${message}`);
    }
    return JSON.parse(text) as WorkerResult;
  }

  async startAsync(functionName: string, payload: unknown): Promise<void> {
    await this.sendThrottled(new InvokeCommand({ FunctionName: functionName, InvocationType: "Event", Payload: Buffer.from(JSON.stringify(payload)) }));
  }
}

import net from "node:net";

/**
 * A TCP proxy on 127.0.0.1 in front of one server (the local S3), that a test switches at run time
 * between passing traffic and failing it the ways a network and an S3 fail:
 *
 *   pass    every connection is relayed to the target
 *   refuse  nothing listens on the port any more: connects get ECONNREFUSED
 *   reset   connections are accepted, then reset (RST) at once
 *   hang    connections are accepted and read, and never answered
 *
 * and, in pass mode, cuts chosen HTTP requests (`cut()`): a request whose first line matches a
 * pattern (e.g. /^PUT .*\.npz/) is reset or left hanging after its first N bytes (or once it has
 * been relayed whole, before its answer). Requests are framed by Content-Length on each
 * connection, so a request further down a keep-alive connection is seen too (a chunked body ends
 * the framing of its connection: later requests there are relayed unseen).
 *
 * Each switch ends the connections open at that moment, so a client's pooled keep-alive socket
 * cannot carry on as before the switch.
 */
export type ProxyMode = "pass" | "refuse" | "reset" | "hang";

export interface CutRule {
  /** Tested against the request line, e.g. "PUT /bucket/models/a.npz HTTP/1.1". */
  readonly match: RegExp;
  /** Bytes of the request (head and body) relayed before the cut; "all" = the whole request, then no answer. */
  readonly afterBytes: number | "all";
  /** "reset": both sides' connections are reset; "hang": nothing more is relayed either way, nothing is closed. */
  readonly action: "reset" | "hang";
  /** How many matching requests to cut (default: every one). */
  readonly times?: number;
}

export interface ProxyTarget {
  readonly host?: string;
  readonly port: number;
}

interface Stats {
  /** Connections accepted. */
  connections: number;
  /** Request lines seen on relayed connections, in order. */
  requests: string[];
  /** Request lines cut. */
  cuts: string[];
}

export class FaultProxy {
  private server: net.Server;
  private portNow = 0;
  private modeNow: ProxyMode = "pass";
  private rule: (CutRule & { left: number }) | undefined;
  private readonly open = new Set<net.Socket>();
  readonly stats: Stats = { connections: 0, requests: [], cuts: [] };

  private constructor(private readonly target: Required<ProxyTarget>) {
    this.server = this.createServer();
  }

  /** Starts listening on 127.0.0.1 (`port` 0 = any free port). The target need not be up yet. */
  static async start(target: ProxyTarget, port = 0): Promise<FaultProxy> {
    const proxy = new FaultProxy({ host: target.host ?? "127.0.0.1", port: target.port });
    proxy.portNow = await proxy.listen(port);
    return proxy;
  }

  get port(): number {
    return this.portNow;
  }

  get url(): string {
    return `http://127.0.0.1:${this.portNow}`;
  }

  get mode(): ProxyMode {
    return this.modeNow;
  }

  /** Switches the mode; connections open now are ended (reset) first. */
  async setMode(mode: ProxyMode): Promise<void> {
    this.dropConnections();
    const wasListening = this.server.listening;
    this.modeNow = mode;
    if (mode === "refuse" && wasListening) {
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    } else if (mode !== "refuse" && !wasListening) {
      this.server = this.createServer();
      await this.listen(this.portNow);
    }
  }

  /** Cuts requests matching `rule` (pass mode). Replaces any earlier rule; `clearCut()` removes it. */
  cut(rule: CutRule): void {
    this.rule = { ...rule, left: rule.times ?? Number.POSITIVE_INFINITY };
  }

  clearCut(): void {
    this.rule = undefined;
  }

  async close(): Promise<void> {
    this.dropConnections();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private createServer(): net.Server {
    const server = net.createServer((socket) => this.accept(socket));
    server.on("error", () => undefined);
    return server;
  }

  private listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  private track(socket: net.Socket): void {
    this.open.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => this.open.delete(socket));
  }

  private dropConnections(): void {
    for (const socket of this.open) socket.resetAndDestroy();
    this.open.clear();
  }

  private accept(client: net.Socket): void {
    this.stats.connections += 1;
    this.track(client);
    switch (this.modeNow) {
      case "refuse": // a connection accepted just before the server closed
      case "reset":
        client.resetAndDestroy();
        return;
      case "hang":
        client.resume(); // read and discard, never answer
        return;
      case "pass":
        this.relay(client);
    }
  }

  /** Relays one client connection to the target, framing its HTTP requests to apply the cut rule. */
  private relay(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    this.track(upstream);
    // Once a request is cut, the target's side lives on by itself (it must get the bytes relayed).
    let upstreamDetached = false;
    upstream.on("close", () => client.destroy());
    client.on("close", () => {
      if (!upstreamDetached) upstream.destroy();
    });
    upstream.on("error", () => client.resetAndDestroy());
    client.on("error", () => {
      if (!upstreamDetached) upstream.resetAndDestroy();
    });
    upstream.pipe(client);

    let stopped = false;
    const stop = (action: CutRule["action"], line: string, whole: boolean) => {
      stopped = true;
      this.stats.cuts.push(line);
      upstream.unpipe(client);
      if (action === "hang") {
        // nothing more either way; the client gives up (its timeout) and the close ends both
        upstream.pause();
        client.pause();
        return;
      }
      upstreamDetached = true;
      client.resetAndDestroy();
      upstream.resume(); // the target's answer, if any, is read and dropped
      if (whole) {
        // the target has the whole request: let it finish and answer, then close
        upstream.once("data", () => setTimeout(() => upstream.destroy(), 200).unref());
      } else {
        // the target gets the first bytes, then the end of the connection: a truncated request
        upstream.end();
      }
      setTimeout(() => upstream.destroy(), 10_000).unref();
    };

    // Framing state of the client -> target direction.
    let pending: Buffer = Buffer.alloc(0);
    let state: "line" | "head" | "body" | "opaque" = "line";
    let head: Buffer = Buffer.alloc(0);
    let bodyLeft = 0;
    let current: { line: string; budget: number | "all"; sent: number; action: CutRule["action"] } | undefined;

    const send = (bytes: Buffer): boolean => {
      if (bytes.length === 0) return true;
      if (current && typeof current.budget === "number") {
        const room = current.budget - current.sent;
        if (bytes.length > room) {
          if (room > 0) upstream.write(bytes.subarray(0, room));
          stop(current.action, current.line, false);
          return false;
        }
        current.sent += bytes.length;
      }
      if (!upstream.write(bytes)) {
        client.pause();
        upstream.once("drain", () => client.resume());
      }
      return true;
    };

    const requestDone = (): boolean => {
      state = "line";
      const done = current;
      current = undefined;
      if (done && done.budget === "all") {
        stop(done.action, done.line, true);
        return false;
      }
      return true;
    };

    client.on("data", (chunk: Buffer) => {
      if (stopped) return;
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length > 0 && !stopped) {
        if (state === "opaque") {
          send(pending);
          pending = Buffer.alloc(0);
        } else if (state === "line") {
          const eol = pending.indexOf("\r\n");
          if (eol < 0) {
            if (pending.length > 16 * 1024) state = "opaque";
            break; // wait for the whole request line
          }
          if (eol === 0) {
            // a stray CRLF between requests
            if (!send(pending.subarray(0, 2))) return;
            pending = pending.subarray(2);
            continue;
          }
          const line = pending.subarray(0, eol).toString("latin1");
          this.stats.requests.push(line);
          const rule = this.rule;
          if (rule && rule.left > 0 && rule.match.test(line)) {
            rule.left -= 1;
            current = { line, budget: rule.afterBytes, sent: 0, action: rule.action };
          }
          state = "head";
          head = Buffer.alloc(0);
        } else if (state === "head") {
          const joined = Buffer.concat([head, pending]);
          const end = joined.indexOf("\r\n\r\n");
          if (end < 0) {
            if (!send(pending)) return;
            head = joined;
            pending = Buffer.alloc(0);
            if (head.length > 64 * 1024) state = "opaque";
            break;
          }
          const used = end + 4 - head.length; // bytes of `pending` that finish the head
          if (!send(pending.subarray(0, used))) return;
          pending = pending.subarray(used);
          const text = joined.subarray(0, end).toString("latin1");
          if (/^transfer-encoding:\s*chunked/im.test(text)) {
            state = "opaque";
          } else {
            bodyLeft = Number(/^content-length:\s*(\d+)/im.exec(text)?.[1] ?? 0);
            state = "body";
            if (bodyLeft === 0 && !requestDone()) return;
          }
        } else {
          const n = Math.min(bodyLeft, pending.length);
          if (!send(pending.subarray(0, n))) return;
          bodyLeft -= n;
          pending = pending.subarray(n);
          if (bodyLeft === 0 && !requestDone()) return;
        }
      }
    });
    client.on("end", () => {
      if (!stopped) upstream.end();
    });
  }
}

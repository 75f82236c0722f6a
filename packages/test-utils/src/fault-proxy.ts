import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

/**
 * How the injected failure looks to the client:
 * - `refuse`: the connection is reset before anything is forwarded (the server is down);
 * - `drop-answer`: the request is forwarded and processed, then the connection is reset instead of
 *   answering (the work was done, the answer lost).
 * Either way every later request is refused, until {@link FaultProxy.restore}.
 */
export type FaultMode = "refuse" | "drop-answer";

export interface FaultProxy extends AsyncDisposable {
  /** Root URL to point the client at, e.g. http://127.0.0.1:41234. */
  url: string;
  /** Requests received since the last {@link arm} (refused ones included). */
  readonly requests: number;
  /** `METHOD /path → what happened` for each request since the last {@link arm}, for failure messages. */
  readonly log: readonly string[];
  /** True once the injected failure has happened (and the proxy refuses everything). */
  readonly down: boolean;
  /** Resets the count and forwards everything; then fails request number `failAt` (1-based) by `mode`. */
  arm(options: { failAt: number; mode: FaultMode }): void;
  /** Forwards everything again, counting on; no failure is pending. */
  restore(): void;
  close(): Promise<void>;
}

/** An HTTP proxy in front of `target` (a server's root URL) that counts requests and fails one on demand. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  let count = 0;
  let failAt = Number.POSITIVE_INFINITY;
  let mode: FaultMode = "refuse";
  let down = false;
  const log: string[] = [];

  const forward = (
    req: IncomingMessage,
    onAnswer: (
      status: number,
      headers: IncomingMessage["headers"],
      body: Buffer,
    ) => void,
    onError: () => void,
  ) => {
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        agent,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (part: Buffer) => parts.push(part));
        res.on("end", () =>
          onAnswer(res.statusCode ?? 502, res.headers, Buffer.concat(parts)),
        );
        res.on("error", onError);
      },
    );
    out.on("error", onError);
    req.pipe(out);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    count += 1;
    const line = `${count}. ${req.method} ${(req.url ?? "").split("?")[0]}`;
    if (down || count === failAt) {
      if (!down && mode === "drop-answer") {
        down = true;
        forward(
          req,
          (status) => {
            log.push(`${line} → processed (${status}), answer dropped`);
            req.socket.destroy();
          },
          () => req.socket.destroy(),
        );
        return;
      }
      down = true;
      log.push(`${line} → refused`);
      req.socket.destroy();
      return;
    }
    forward(
      req,
      (status, headers, body) => {
        log.push(`${line} → ${status}`);
        // The body is buffered: it goes out with a length, on the proxy's own connection.
        const rest = Object.fromEntries(
          Object.entries(headers).filter(
            ([k]) =>
              !["transfer-encoding", "connection", "keep-alive"].includes(k),
          ),
        );
        res.writeHead(status, {
          ...rest,
          "content-length": String(body.length),
        });
        res.end(body);
      },
      () => {
        log.push(`${line} → upstream error`);
        req.socket.destroy();
      },
    );
  };

  const server = createServer(handle);
  // Longer than any client keeps an idle socket, so a reset is always one we meant.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    agent.destroy();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return count;
    },
    get log() {
      return log;
    },
    get down() {
      return down;
    },
    arm(options) {
      count = 0;
      log.length = 0;
      failAt = options.failAt;
      mode = options.mode;
      down = false;
    },
    restore() {
      failAt = Number.POSITIVE_INFINITY;
      down = false;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * An evenly paced, open-loop load for bench/serve.ts: request i is sent at start + i/rate whether
 * or not earlier ones have answered, over keep-alive node:http sockets. It complements
 * autocannon's fixed-rate mode, whose per-connection quota is spent back to back at the start of
 * each second, so that its "1,000 req/s" is a burst of `connections` concurrent streams followed
 * by silence.
 */
import { Agent, request } from "node:http";
import { summarize, type LoadResult } from "./serve-load.ts";

export interface PacedOptions {
  url: string;
  path: string;
  /** Request bodies (JSON), used in turn; absent for a GET. */
  bodies?: readonly string[];
  /** @default POST */
  method?: "GET" | "POST";
  rate: number;
  seconds: number;
}

export async function paced(options: PacedOptions): Promise<LoadResult> {
  const target = new URL(options.path, options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const times: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  let allSent = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const settle = (): void => {
    inFlight--;
    if (allSent && inFlight === 0) finish();
  };

  const method = options.method ?? "POST";
  const bodies = options.bodies ?? [""];
  const fire = (body: string): void => {
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    const sent = performance.now();
    const req = request(
      target,
      {
        agent,
        method,
        headers:
          method === "GET"
            ? {}
            : {
                "content-type": "application/json",
                "content-length": Buffer.byteLength(body),
              },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          times.push(performance.now() - sent);
          const status = String(res.statusCode);
          statuses[status] = (statuses[status] ?? 0) + 1;
          settle();
        });
      },
    );
    req.on("error", () => {
      errors++;
      settle();
    });
    if (method === "GET") req.end();
    else req.end(body);
  };

  const total = Math.round(options.rate * options.seconds);
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = (): void => {
      const due = Math.min(
        total,
        Math.floor(((performance.now() - start) * options.rate) / 1000) + 1,
      );
      for (; next < due; next++) fire(bodies[next % bodies.length]!);
      if (next < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  allSent = true;
  if (inFlight > 0) await finished;
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  const ok = Object.entries(statuses)
    .filter(([s]) => s.startsWith("2"))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    seconds,
    // Each request in flight holds its own socket.
    connections: peakInFlight,
    overallRate: options.rate,
    responses: times.length,
    okPerSecond: ok / seconds,
    errors,
    timeouts: 0,
    non2xx: times.length - ok,
    statuses,
    latency: summarize(times),
  };
}

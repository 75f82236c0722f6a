/**
 * Load phases for bench/serve.ts, on autocannon's programmatic API.
 *
 * Latency percentiles are computed here from every response's own time (autocannon's client:
 * request written → response complete, float ms) rather than taken from autocannon's histogram,
 * which has 1 ms buckets and, under a rate limit, applies a coordinated-omission correction whose
 * expected interval works out to 1 ms whatever the rate; both blur a 5 ms goal. Each connection's
 * first response is left out of the percentiles: its time includes the TCP connect and autocannon
 * building the other connections' request buffers on the same thread (tens to hundreds of ms).
 */
import autocannon from "autocannon";

export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  /**
   * Called once per connection; each connection cycles through its own list, so connections do
   * not ask for the same ids in lockstep. Their buffers are built once, when the connection opens.
   */
  requests: () => autocannon.Request[];
  /** Requests per second over all connections; unlimited when absent. */
  overallRate?: number;
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  seconds: number;
  connections: number;
  overallRate: number | undefined;
  /** Responses received, any status. */
  responses: number;
  /** 2xx responses per second. */
  okPerSecond: number;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Response count per HTTP status. */
  statuses: Record<string, number>;
  /** Over all responses but each connection's first, ms. */
  latency: Latency;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(times: number[]): Latency {
  const sorted = Float64Array.from(times).sort();
  const sum = times.reduce((a, b) => a + b, 0);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    mean: times.length === 0 ? Number.NaN : sum / times.length,
  };
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const times: number[] = [];
  const statuses: Record<string, number> = {};
  const answered = new WeakSet<autocannon.Client>();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.seconds,
        ...(options.overallRate === undefined
          ? {}
          : { overallRate: options.overallRate }),
        requests: options.requests().slice(0, 1),
        setupClient: (client) => client.setRequests(options.requests()),
      },
      (error: Error | null | undefined, r) =>
        error ? reject(error) : resolve(r),
    );
    instance.on("response", (client, status, _bytes, ms) => {
      if (answered.has(client)) times.push(ms);
      else answered.add(client);
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
  });
  return {
    seconds: result.duration,
    connections: options.connections,
    overallRate: options.overallRate,
    responses: Object.values(statuses).reduce((a, b) => a + b, 0),
    okPerSecond: result["2xx"] / result.duration,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statuses,
    latency: summarize(times),
  };
}

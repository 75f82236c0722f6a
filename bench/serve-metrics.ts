/**
 * The service's own view of a phase, from its Prometheus histograms (GET /metrics before and
 * after): request time from received to sent, and the online-store lookup time. They leave out
 * what the client-side figures include: queueing in socket buffers before Fastify sees a request,
 * and stalls of the load generator, which shares the machine.
 */

interface Histogram {
  /** Cumulative count per upper bound (seconds), +Inf included. */
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

export interface ServerSide {
  requests: number;
  meanMs: number;
  /** Upper bounds of the buckets holding the 50th and 99th percentiles, ms. */
  p50AtMostMs: number;
  p99AtMostMs: number;
  lookupMeanMs: number;
}

function labelsOf(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="([^"]*)"/g)) labels[m[1]!] = m[2]!;
  return labels;
}

/** One labelled series of a histogram in the Prometheus text format. */
function histogram(
  metrics: string,
  name: string,
  match: Record<string, string>,
): Histogram {
  const h: Histogram = { buckets: new Map(), sum: 0, count: 0 };
  for (const line of metrics.split("\n")) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (m === null || !m[1]!.startsWith(name)) continue;
    const labels = labelsOf(m[2]!);
    if (Object.entries(match).some(([k, v]) => labels[k] !== v)) continue;
    const value = Number(m[3]);
    const suffix = m[1]!.slice(name.length);
    if (suffix === "_bucket")
      h.buckets.set(
        labels["le"] === "+Inf" ? Infinity : Number(labels["le"]),
        value,
      );
    else if (suffix === "_sum") h.sum = value;
    else if (suffix === "_count") h.count = value;
  }
  return h;
}

function minus(after: Histogram, before: Histogram): Histogram {
  const buckets = new Map<number, number>();
  for (const [le, n] of after.buckets)
    buckets.set(le, n - (before.buckets.get(le) ?? 0));
  return {
    buckets,
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

function quantileAtMost(h: Histogram, q: number): number {
  for (const [le, n] of [...h.buckets].sort((a, b) => a[0] - b[0]))
    if (n >= q * h.count) return le * 1000;
  return Number.NaN;
}

export interface ServerSideProbe {
  /** Route template, e.g. /predict. */
  endpoint: string;
  /** The feature-lookup histogram's kind: single or batch. */
  lookup: "single" | "batch";
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  return response.text();
}

/** Runs `during` between two scrapes of the server's metrics and returns what they differ by. */
export async function serverSide<T>(
  url: string,
  probe: ServerSideProbe,
  during: () => Promise<T>,
): Promise<{ result: T; serverSide: ServerSide }> {
  const before = await scrape(url);
  const result = await during();
  const after = await scrape(url);
  const series = (text: string) => ({
    latency: histogram(text, "api_request_latency_seconds", {
      endpoint: probe.endpoint,
      method: "POST",
    }),
    lookup: histogram(text, "streamflow_feature_lookup_seconds", {
      kind: probe.lookup,
    }),
  });
  const a = series(after);
  const b = series(before);
  const latency = minus(a.latency, b.latency);
  const lookup = minus(a.lookup, b.lookup);
  return {
    result,
    serverSide: {
      requests: latency.count,
      meanMs: (latency.sum / latency.count) * 1000,
      p50AtMostMs: quantileAtMost(latency, 0.5),
      p99AtMostMs: quantileAtMost(latency, 0.99),
      lookupMeanMs: (lookup.sum / lookup.count) * 1000,
    },
  };
}

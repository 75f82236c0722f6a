/**
 * The responsiveness phase of bench/serve.ts (issue F5): how long `GET /health` waits while
 * 1,000-id batches arrive back to back on one connection. A batch's forest walk runs on the
 * event loop; if it ran in one piece, every request arriving meanwhile would wait for it.
 *
 * The server of this phase runs with the feature cache off (--feature-cache-ttl-s 0): with the
 * cache, repeated ids would be answered from earlier predictions and the walk would not be
 * measured. Each batch also asks for 1,000 distinct ids drawn at random.
 *
 * Anchor: the same /health load on the same server with no batch load, measured in each round
 * right before the loaded run. Rounds repeat the pair, since other engineers' tests share the
 * machine; the report gives every round and the spread.
 */
import type autocannon from "autocannon";
import { load, type LoadResult } from "./serve-load.ts";
import { paced } from "./serve-paced.ts";

/** /health requests per second: one every 5 ms, enough samples for a p99 in a few seconds. */
export const HEALTH_RATE = 200;

export interface ResponsivenessRound {
  /** GET /health alone. */
  idle: LoadResult;
  /** GET /health while batches run. */
  underLoad: LoadResult;
  /** The batches, back to back on one connection. */
  batch: LoadResult;
}

export interface ResponsivenessOptions {
  url: string;
  seconds: number;
  rounds: number;
  /** Batch requests for autocannon (one connection cycles through them). */
  batchRequests: () => autocannon.Request[];
}

function health(url: string, seconds: number): Promise<LoadResult> {
  return paced({
    url,
    path: "/health",
    method: "GET",
    rate: HEALTH_RATE,
    seconds,
  });
}

export async function measureResponsiveness(
  options: ResponsivenessOptions,
): Promise<ResponsivenessRound[]> {
  const { url, seconds } = options;
  // Warm both kinds of request before the first round.
  await Promise.all([
    health(url, 1),
    load({ url, connections: 1, seconds: 1, requests: options.batchRequests }),
  ]);
  const rounds: ResponsivenessRound[] = [];
  for (let i = 0; i < options.rounds; i++) {
    const idle = await health(url, seconds);
    const [underLoad, batch] = await Promise.all([
      health(url, seconds),
      load({
        url,
        connections: 1,
        seconds,
        requests: options.batchRequests,
      }),
    ]);
    rounds.push({ idle, underLoad, batch });
  }
  return rounds;
}

const fmt = (n: number, digits = 1): string =>
  Number.isNaN(n)
    ? "–"
    : n.toLocaleString("en-US", {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
      });

/** One line per round: /health idle and loaded, the ratio of the p99s, and the batch rate. */
export function describeRound(r: ResponsivenessRound, i: number): string {
  const { idle, underLoad, batch } = r;
  return `round ${i + 1}: GET /health idle p50 ${fmt(idle.latency.p50, 2)} p99 ${fmt(idle.latency.p99, 2)} ms; with batches p50 ${fmt(underLoad.latency.p50, 2)} p99 ${fmt(underLoad.latency.p99, 2)} max ${fmt(underLoad.latency.max, 1)} ms (p99 ${fmt(underLoad.latency.p99 / idle.latency.p99, 1)}× idle); batches ${fmt(batch.okPerSecond, 1)}/s, p50 ${fmt(batch.latency.p50, 1)} ms, ${batch.non2xx + underLoad.non2xx} non-2xx, ${batch.errors + underLoad.errors} errors`;
}

/** The goal's figure: the worst round's p99 under load, and the spread over rounds. */
export function summarizeRounds(rounds: readonly ResponsivenessRound[]): {
  figure: string;
  worstP99: number;
} {
  const loaded = rounds.map((r) => r.underLoad.latency.p99);
  const idle = rounds.map((r) => r.idle.latency.p99);
  const batches = rounds.map((r) => r.batch.okPerSecond);
  const span = (xs: number[], digits: number): string =>
    `${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}`;
  return {
    worstP99: Math.max(...loaded),
    figure: `p99 with batches ${span(loaded, 2)} ms over ${rounds.length} rounds (idle ${span(idle, 2)} ms); ${span(batches, 1)} batches/s`,
  };
}

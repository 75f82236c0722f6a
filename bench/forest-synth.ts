/**
 * Seeded generator of lab-like churn data for the forest benchmark, already encoded the way the
 * preprocessor encodes the 14 lab features (18 columns: net_service one-hot, 10 numerics,
 * paperless_billing, plan_stream_tv (+ =null), plan_stream_movies (+ =null)). Value ranges and
 * shares follow the lab notes §2; churn follows a noisy logistic model of the usual Telco signals,
 * so a forest reaches an AUC near the lab's 0.8 and grows trees as large as on real data.
 */

export const SYNTH_COLUMNS = [
  "net_service=DSL",
  "net_service=Fiber optic",
  "net_service=No",
  "months_active",
  "monthly_fee",
  "watch_hours_30d",
  "avg_session_mins_7d",
  "unique_devices_30d",
  "skips_7d",
  "rebuffer_events_7d",
  "failed_payments_90d",
  "support_tickets_90d",
  "ticket_avg_resolution_hrs_90d",
  "paperless_billing",
  "plan_stream_tv",
  "plan_stream_tv=null",
  "plan_stream_movies",
  "plan_stream_movies=null",
] as const;

export interface SynthData {
  x: Float64Array;
  y: Float64Array;
  nRows: number;
  nCols: number;
}

/** mulberry32: tiny, seeded, good enough for test data. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateSynth(nRows: number, seed: number): SynthData {
  const rnd = mulberry32(seed);
  const normal = (): number =>
    Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const pick = (weights: readonly number[]): number => {
    let u = rnd();
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i] as number;
      if (u < 0) return i;
    }
    return weights.length - 1;
  };
  const nCols = SYNTH_COLUMNS.length;
  const x = new Float64Array(nRows * nCols);
  const y = new Float64Array(nRows);
  for (let r = 0; r < nRows; r++) {
    const net = pick([0.344, 0.44, 0.216]); // DSL, Fiber optic, No
    const months = Math.floor(rnd() * 73);
    const paperless = rnd() < 0.59 ? 1 : 0;
    const tv = net === 2 ? -1 : rnd() < 0.49 ? 1 : 0;
    const movies = net === 2 ? -1 : rnd() < 0.5 ? 1 : 0;
    const baseFee = net === 2 ? 20 : net === 0 ? 50 : 75;
    const fee =
      Math.round(
        (baseFee +
          10 * Math.max(0, tv) +
          10 * Math.max(0, movies) +
          6 * normal()) *
          100,
      ) / 100;
    const watch = Math.max(5.75, 29.6 + 7 * normal());
    const devices = 1 + pick([0.34, 0.33, 0.33]);
    const skips = Math.min(14, Math.floor(-Math.log(1 - rnd()) * 3));
    const rebuffer = Math.min(9, Math.floor(-Math.log(1 - rnd()) * 2.3));
    const failed = pick([0.847, 0.145, 0.008]);
    const tickets = pick([0.739, 0.223, 0.035, 0.0034, 0.0006]);
    const resolution = Math.round((1 + rnd() * 23.9) * 10) / 10;
    const z =
      -1.2 +
      (net === 1 ? 1.1 : net === 0 ? 0.2 : -0.6) -
      0.045 * months +
      0.012 * (fee - 65) +
      0.45 * paperless +
      0.35 * failed +
      0.3 * tickets -
      0.02 * (watch - 29.6) +
      0.05 * rebuffer +
      0.6 * normal();
    y[r] = rnd() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    const row = [
      net === 0 ? 1 : 0,
      net === 1 ? 1 : 0,
      net === 2 ? 1 : 0,
      months,
      fee,
      watch,
      29.14104464084511,
      devices,
      skips,
      rebuffer,
      failed,
      tickets,
      resolution,
      paperless,
      Math.max(0, tv),
      tv === -1 ? 1 : 0,
      Math.max(0, movies),
      movies === -1 ? 1 : 0,
    ];
    x.set(row, r * nCols);
  }
  return { x, y, nRows, nCols };
}

/**
 * The value profile of the synthetic months: distributions shaped after the lab's month_000 and
 * the month-to-month changes between its two months (see the lab notes, §2), plus the churn model
 * that makes the labels learnable. Rates are rounded proportions of the lab's counts.
 */
import {
  cumulativeThresholds,
  probabilityThreshold,
  type Sfc32,
} from "./prng.ts";

export const NET_SERVICES = ["Fiber optic", "DSL", "No"] as const;
/** Users without a net service have no streaming plans: their plan_stream_* are NULL. */
export const NET_NONE = 2;
export const CONTRACT_TYPES = [
  "Month-to-month",
  "One year",
  "Two year",
] as const;

/** Mutable per-user scratch record: one instance is reused for every user of a chunk. */
export interface UserRecord {
  monthsActive: number;
  male: boolean;
  senior: boolean;
  family: boolean;
  dependents: boolean;
  /** Index into {@link NET_SERVICES}. */
  net: number;
  /** Meaningless when `net` is "No": those rows print an empty field. */
  streamTv: boolean;
  streamMovies: boolean;
  /** Index into {@link CONTRACT_TYPES}. */
  contract: number;
  paperless: boolean;
  feeCents: number;
  totalPaidCents: number;
  watchHours: number;
  uniqueDevices: number;
  skips: number;
  rebuffers: number;
  failedPayments: number;
  supportTickets: number;
  /** Tenths of an hour, so `16.0` prints without float formatting. */
  resolutionDeciHours: number;
  churn: boolean;
}

export function emptyUserRecord(): UserRecord {
  return {
    monthsActive: 0,
    male: false,
    senior: false,
    family: false,
    dependents: false,
    net: 0,
    streamTv: false,
    streamMovies: false,
    contract: 0,
    paperless: false,
    feeCents: 0,
    totalPaidCents: 0,
    watchHours: 0,
    uniqueDevices: 1,
    skips: 0,
    rebuffers: 0,
    failedPayments: 0,
    supportTickets: 0,
    resolutionDeciHours: 10,
    churn: false,
  };
}

// --- users -------------------------------------------------------------------------------------
const P_MALE = probabilityThreshold(0.505);
const P_SENIOR = probabilityThreshold(0.162);
const P_FAMILY = probabilityThreshold(0.483);
// Dependents mostly come with a family in the lab (1749 of 2110).
const P_DEPENDENTS_WITH_FAMILY = probabilityThreshold(0.514);
const P_DEPENDENTS_ALONE = probabilityThreshold(0.099);

// --- subscriptions -----------------------------------------------------------------------------
const NET_CUMULATIVE = cumulativeThresholds([44.0, 34.4, 21.6]);
/** Contract mix per net service: fiber customers are mostly month-to-month, as in the lab. */
const CONTRACT_BY_NET = [
  cumulativeThresholds([68.7, 17.4, 13.9]),
  cumulativeThresholds([50.5, 23.5, 26.0]),
  cumulativeThresholds([34.3, 23.9, 41.8]),
] as const;

interface TenureShape {
  /** A month drawn with probability `spikeP` before the buckets (1 for month-to-month, 0 else). */
  spikeMonth: number;
  spikeP: number;
  /** First month of bucket 0 (bucket 0 ends at 11). */
  firstBucketStart: number;
  /** Weights of 1..11, 12..23, …, 60..71, and 72 exactly (the Telco ceiling). */
  buckets: Uint32Array;
}

const TENURE_BY_CONTRACT: readonly TenureShape[] = [
  {
    spikeMonth: 1,
    spikeP: probabilityThreshold(0.156),
    firstBucketStart: 2,
    buckets: cumulativeThresholds([1304, 765, 522, 323, 230, 125, 2]),
  },
  {
    spikeMonth: 0,
    spikeP: probabilityThreshold(0.0035),
    firstBucketStart: 1,
    buckets: cumulativeThresholds([102, 199, 251, 259, 325, 320, 17]),
  },
  {
    spikeMonth: 0,
    spikeP: probabilityThreshold(0.0035),
    firstBucketStart: 1,
    buckets: cumulativeThresholds([59, 83, 103, 166, 265, 676, 343]),
  },
];

export const MAX_MONTHS_ACTIVE = 72;

const P_TV_BY_NET = [
  probabilityThreshold(0.565),
  probabilityThreshold(0.395),
  0,
] as const;
// The two streaming plans go together more often than not (lab: 1940 both, 2018 neither).
const P_MOVIES_WITH_TV = probabilityThreshold(0.717);
const P_MOVIES_WITHOUT_TV = probabilityThreshold(0.282);
const P_PAPERLESS_BY_NET = [
  probabilityThreshold(0.774),
  probabilityThreshold(0.549),
  probabilityThreshold(0.292),
] as const;

interface FeeShape {
  base: number;
  perStreamingPlan: number;
  sd: number;
  min: number;
  max: number;
}
/** Dollars; chosen so mean, spread and range per net service match the lab's. */
const FEE_BY_NET: readonly FeeShape[] = [
  { base: 80.6, perStreamingPlan: 10, sd: 9.45, min: 67.75, max: 118.75 },
  { base: 49.6, perStreamingPlan: 10, sd: 13.96, min: 23.45, max: 94.8 },
  { base: 21.08, perStreamingPlan: 0, sd: 2.16, min: 18.25, max: 26.9 },
];

// --- usage, payments, support --------------------------------------------------------------------
const WATCH = { mean: 29.63, sd: 6.75, min: 5.75, max: 50.84 } as const;
/** avg_session_mins_7d carries no information in the lab: one constant on every row. */
export const AVG_SESSION_MINS_7D = "29.14104464084511";
const SKIPS = cumulativeThresholds([
  47, 228, 561, 948, 1243, 1231, 1050, 796, 473, 228, 133, 72, 24, 7, 2,
]);
const REBUFFERS = cumulativeThresholds([
  644, 1612, 1908, 1483, 808, 420, 131, 26, 7, 4,
]);
const FAILED_PAYMENTS = cumulativeThresholds([5966, 1022, 55]);
const SUPPORT_TICKETS = cumulativeThresholds([5203, 1569, 246, 24, 1]);
const RESOLUTION = { mean: 10.0, sd: 4.1, minDeci: 10, maxDeci: 249 } as const;

// --- drift between consecutive months ------------------------------------------------------------
/** Watch hours are multiplied by about 0.98 (lab ratio 0.848…1.084, sd 0.03). */
const WATCH_RATIO = { mean: 0.98, sd: 0.03, min: 0.85, max: 1.09 } as const;
/**
 * The lab's decline would reach sub-microsecond watch times after a few hundred months and print
 * in exponent notation; a floor keeps long runs in the lab's format.
 */
const WATCH_FLOOR = 1.0;
const REBUFFER_INCREMENT = cumulativeThresholds([5215, 1561, 244, 20, 3]);
const P_EXTRA_FAILED_PAYMENT = probabilityThreshold(202 / 7043);
const P_EXTRA_TICKET = probabilityThreshold(360 / 7043);

// --- churn ---------------------------------------------------------------------------------------
/**
 * Logistic churn model, in logits. The intercept was tuned so about a quarter of users churn in
 * the first month (lab: 26.5 %); the rate creeps up as tickets and failed payments accumulate.
 * Contract type is not among the 14 model features, so a model sees it only through tenure, fee
 * and net service: a random forest on the features then reaches AUC ≈ 0.81, the lab's ≈ 0.82.
 */
export const CHURN_MODEL = {
  intercept: -2.0,
  contract: [1.1, -0.1, -1.2],
  perMonthActive: -0.028,
  net: [0.75, 0, -0.55],
  perFeeDollarAbove65: 0.006,
  paperless: 0.3,
  perWatchHourAbove30: -0.07,
  perSupportTicket: 0.7,
  perFailedPayment: 0.8,
} as const;

/** The part of a user's churn logit that is fixed across months (subscription and contract). */
export function staticChurnLogit(r: UserRecord): number {
  const m = CHURN_MODEL;
  return (
    m.intercept +
    (m.contract[r.contract] ?? 0) +
    m.perMonthActive * r.monthsActive +
    (m.net[r.net] ?? 0) +
    m.perFeeDollarAbove65 * (r.feeCents / 100 - 65) +
    (r.paperless ? m.paperless : 0)
  );
}

export function churnProbability(staticLogit: number, r: UserRecord): number {
  const m = CHURN_MODEL;
  const z =
    staticLogit +
    m.perWatchHourAbove30 * (r.watchHours - 30) +
    m.perSupportTicket * r.supportTickets +
    m.perFailedPayment * r.failedPayments;
  return 1 / (1 + Math.exp(-z));
}

/** Normal draw truncated to [min, max] by rejection, so no value piles up on a bound. */
function truncatedNormal(
  rng: Sfc32,
  {
    mean,
    sd,
    min,
    max,
  }: { mean: number; sd: number; min: number; max: number },
): number {
  for (let attempt = 0; attempt < 64; attempt++) {
    const x = mean + sd * rng.nextNormal();
    if (x >= min && x <= max) return x;
  }
  // Unreachable in practice (every shape here accepts more than half its draws); bounded anyway.
  return Math.min(max, Math.max(min, mean));
}

function drawMonthsActive(rng: Sfc32, contract: number): number {
  const shape = TENURE_BY_CONTRACT[contract]!;
  if (rng.chance(shape.spikeP)) return shape.spikeMonth;
  const bucket = rng.pick(shape.buckets);
  if (bucket === 6) return MAX_MONTHS_ACTIVE;
  const start = bucket === 0 ? shape.firstBucketStart : bucket * 12;
  const end = bucket * 12 + 11;
  return start + rng.nextInt(end - start + 1);
}

function drawFeeCents(rng: Sfc32, r: UserRecord): number {
  const shape = FEE_BY_NET[r.net]!;
  const plans =
    r.net === NET_NONE ? 0 : Number(r.streamTv) + Number(r.streamMovies);
  const fee = truncatedNormal(rng, {
    mean: shape.base + shape.perStreamingPlan * plans,
    sd: shape.sd,
    min: shape.min,
    max: shape.max,
  });
  // Telco fees are multiples of 5 cents.
  return Math.round(fee * 20) * 5;
}

function drawTotalPaidCents(rng: Sfc32, r: UserRecord): number {
  if (r.monthsActive === 0) return 0;
  if (r.monthsActive === 1) return r.feeCents;
  // Past fees differed from today's: the lab's total/(fee·months) ratio has sd ≈ 0.05.
  const ratio = Math.min(1.5, Math.max(0.7, 1 + 0.05 * rng.nextNormal()));
  return Math.round(r.feeCents * r.monthsActive * ratio);
}

/** Fills `r` with a new user's profile and first-month activity, then draws its first label. */
export function drawFirstMonth(rng: Sfc32, r: UserRecord): number {
  r.male = rng.chance(P_MALE);
  r.senior = rng.chance(P_SENIOR);
  r.family = rng.chance(P_FAMILY);
  r.dependents = rng.chance(
    r.family ? P_DEPENDENTS_WITH_FAMILY : P_DEPENDENTS_ALONE,
  );

  r.net = rng.pick(NET_CUMULATIVE);
  r.contract = rng.pick(CONTRACT_BY_NET[r.net as 0 | 1 | 2]);
  r.monthsActive = drawMonthsActive(rng, r.contract);
  r.streamTv = rng.chance(P_TV_BY_NET[r.net as 0 | 1 | 2]);
  r.streamMovies = rng.chance(
    r.streamTv ? P_MOVIES_WITH_TV : P_MOVIES_WITHOUT_TV,
  );
  if (r.net === NET_NONE) {
    r.streamTv = false;
    r.streamMovies = false;
  }
  r.paperless = rng.chance(P_PAPERLESS_BY_NET[r.net as 0 | 1 | 2]);
  r.feeCents = drawFeeCents(rng, r);
  r.totalPaidCents = drawTotalPaidCents(rng, r);

  r.watchHours = truncatedNormal(rng, {
    mean: WATCH.mean,
    sd: WATCH.sd,
    min: WATCH.min,
    max: WATCH.max,
  });
  r.uniqueDevices = 1 + rng.nextInt(3);
  r.skips = rng.pick(SKIPS);
  r.rebuffers = rng.pick(REBUFFERS);
  r.failedPayments = rng.pick(FAILED_PAYMENTS);
  r.supportTickets = rng.pick(SUPPORT_TICKETS);
  const deci = Math.round(
    10 * (RESOLUTION.mean + RESOLUTION.sd * rng.nextNormal()),
  );
  // Clamped rather than redrawn: the lab has a pile of 1.0 h resolutions too.
  r.resolutionDeciHours = Math.min(
    RESOLUTION.maxDeci,
    Math.max(RESOLUTION.minDeci, deci),
  );

  const staticLogit = staticChurnLogit(r);
  r.churn = rng.nextFloat() < churnProbability(staticLogit, r);
  return staticLogit;
}

/**
 * Advances `r`'s activity by one month (profile fields untouched, as in the lab) and draws the
 * month's label from the new values.
 */
export function drawNextMonth(
  rng: Sfc32,
  r: UserRecord,
  staticLogit: number,
): void {
  const ratio = Math.min(
    WATCH_RATIO.max,
    Math.max(
      WATCH_RATIO.min,
      WATCH_RATIO.mean + WATCH_RATIO.sd * rng.nextNormal(),
    ),
  );
  r.watchHours = Math.max(WATCH_FLOOR, r.watchHours * ratio);
  r.rebuffers += rng.pick(REBUFFER_INCREMENT);
  if (rng.chance(P_EXTRA_FAILED_PAYMENT)) r.failedPayments += 1;
  if (rng.chance(P_EXTRA_TICKET)) r.supportTickets += 1;
  r.churn = rng.nextFloat() < churnProbability(staticLogit, r);
}

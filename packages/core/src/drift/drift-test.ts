import { CoreError } from "../errors.ts";
import { type Distribution, jointCounts } from "./distribution.ts";
import {
  type DriftColumnKind,
  chiSquarePValue,
  jensenShannonDistance,
  ksTwoSamplePValue,
  normedWassersteinDistance,
  populationStabilityIndex,
  zTestPValue,
} from "./statistics.ts";

export type DriftMethod =
  "wasserstein" | "jensenshannon" | "psi" | "ks" | "chisquare" | "ztest";

export const DRIFT_METHODS: readonly DriftMethod[] = [
  "wasserstein",
  "jensenshannon",
  "psi",
  "ks",
  "chisquare",
  "ztest",
];

/** Evidently's default thresholds: p-values at 0.05, distances at 0.1. */
export const DEFAULT_DRIFT_THRESHOLDS: Readonly<Record<DriftMethod, number>> =
  Object.freeze({
    ks: 0.05,
    chisquare: 0.05,
    ztest: 0.05,
    wasserstein: 0.1,
    jensenshannon: 0.1,
    psi: 0.1,
  });

/** ks and wasserstein need numbers; the others bin by value and take both kinds. */
export function methodApplies(
  method: DriftMethod,
  kind: DriftColumnKind,
): boolean {
  return kind === "numerical" || (method !== "ks" && method !== "wasserstein");
}

/** Evidently 0.7's auto rule: reference size (ref.n), n_unique over ref ∪ cur. */
export function chooseDriftMethod(
  kind: DriftColumnKind,
  reference: Distribution,
  current: Distribution,
): DriftMethod {
  const nUnique = jointCounts(reference, current).size;
  const numericalAsSuch = kind === "numerical" && nUnique > 5;
  if (reference.n > 1000)
    return numericalAsSuch ? "wasserstein" : "jensenshannon";
  if (numericalAsSuch) return "ks";
  return nUnique > 2 ? "chisquare" : "ztest";
}

export interface DriftTestResult {
  method: DriftMethod;
  /** p-value (ks, chisquare, ztest) or distance (wasserstein, jensenshannon, psi). */
  score: number;
  threshold: number;
  drifted: boolean;
}

function score(
  method: DriftMethod,
  pair: { reference: Distribution; current: Distribution },
  kind: DriftColumnKind,
): number {
  const { reference, current } = pair;
  switch (method) {
    case "ks":
      return ksTwoSamplePValue(reference, current);
    case "chisquare":
      return chiSquarePValue(reference, current);
    case "ztest":
      return zTestPValue(reference, current);
    case "wasserstein":
      return normedWassersteinDistance(reference, current);
    case "jensenshannon":
      return jensenShannonDistance(reference, current, kind);
    case "psi":
      return populationStabilityIndex(reference, current, kind);
  }
}

/** Runs one test with Evidently's comparison: ks p <= t; chisquare, ztest p < t; wasserstein, jensenshannon, psi d >= t. */
// eslint-disable-next-line max-params -- the public signature is fixed: callers are written against it.
export function driftTest(
  method: DriftMethod,
  reference: Distribution,
  current: Distribution,
  options: { kind: DriftColumnKind; threshold?: number },
): DriftTestResult {
  const { kind } = options;
  if (!DRIFT_METHODS.includes(method)) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `Unknown drift method ${JSON.stringify(method)}.`,
      { hint: `Use one of ${DRIFT_METHODS.join(", ")}.`, details: { method } },
    );
  }
  if (!methodApplies(method, kind)) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `Drift method "${method}" does not apply to a ${kind} column: it needs numbers.`,
      {
        hint: "Use jensenshannon, psi, chisquare or ztest for a categorical column, or declare the column numerical.",
        details: { method, kind },
      },
    );
  }
  const threshold = options.threshold ?? DEFAULT_DRIFT_THRESHOLDS[method];
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `Drift threshold ${threshold} for "${method}" is not a finite number >= 0.`,
      {
        hint: `Pass a threshold such as ${DEFAULT_DRIFT_THRESHOLDS[method]}, or omit it for the default.`,
        details: { method, threshold },
      },
    );
  }
  const s = score(method, { reference, current }, kind);
  let drifted: boolean;
  switch (method) {
    case "ks":
      drifted = s <= threshold;
      break;
    case "chisquare":
    case "ztest":
      drifted = s < threshold;
      break;
    case "wasserstein":
    case "jensenshannon":
    case "psi":
      drifted = s >= threshold;
      break;
  }
  return { method, score: s, threshold, drifted };
}

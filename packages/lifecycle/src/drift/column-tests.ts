import {
  chooseDriftMethod,
  DEFAULT_DRIFT_THRESHOLDS,
  DRIFT_METHODS,
  driftTest,
  methodApplies,
  type Distribution,
  type DriftColumnKind,
  type DriftMethod,
} from "@streamflow/core";
import type { ColumnType } from "@streamflow/features";
import { LifecycleError } from "../errors.ts";

/** `auto` is Evidently 0.7's rule; any other name forces that test where it applies. */
export type DriftMethodChoice = "auto" | DriftMethod;

export const DRIFT_METHOD_CHOICES: readonly DriftMethodChoice[] = [
  "auto",
  ...DRIFT_METHODS,
];

/** A `--feature NAME=METHOD[:THRESHOLD]` setting. */
export interface FeatureDriftSetting {
  method: DriftMethod;
  threshold?: number | undefined;
}

/**
 * How each column's test is chosen, most specific first. Method: a per-feature setting, then the
 * global method where it can test the column's kind, then the auto rule. Threshold: the
 * feature's, then the global one for columns the global method tests (every column when the
 * method is auto), then the method's default — a p-value threshold is never applied to a distance.
 */
export interface DriftTestPlan {
  method: DriftMethodChoice;
  threshold?: number | undefined;
  features: Readonly<Record<string, FeatureDriftSetting>>;
}

/** One column's verdict over two periods. */
export interface ColumnDrift {
  name: string;
  kind: DriftColumnKind;
  /** Null when one period has no value of the column: it is reported, not tested. */
  method: DriftMethod | null;
  score: number | null;
  threshold: number | null;
  drifted: boolean;
  /** Where the method came from: the feature's setting, the global method, or the auto rule. */
  chosenBy: "feature" | "method" | "auto";
  /** Why the global method was not used, or why the column was not tested. */
  note: string | null;
  reference: Distribution;
  current: Distribution;
}

/** Booleans and text are categories; integers and doubles are numbers (the declared schema decides, not the values). */
export function driftKindOf(type: ColumnType): DriftColumnKind {
  return type === "integer" || type === "double" ? "numerical" : "categorical";
}

/**
 * Refuses settings that name a column the periods do not have, or a method that cannot test the
 * column's kind (Wasserstein and KS need numbers), before any data is read.
 * @throws LifecycleError DRIFT_OPTION_INVALID.
 */
export function checkDriftPlan(
  plan: DriftTestPlan,
  columns: readonly { name: string; kind: DriftColumnKind }[],
): void {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(plan.features)) {
    const column = byName.get(name);
    if (column === undefined) problems.push(`'${name}' is not a column`);
    else if (!methodApplies(setting.method, column.kind))
      problems.push(
        `${setting.method} cannot test '${name}', a ${column.kind} column`,
      );
  }
  if (problems.length > 0) {
    throw new LifecycleError(
      "DRIFT_OPTION_INVALID",
      `--feature: ${problems.join("; ")}`,
      {
        hint: `Columns: ${columns.map((c) => `${c.name} (${c.kind})`).join(", ")}. wasserstein and ks test numerical columns only.`,
        details: { problems },
      },
    );
  }
}

/** Chooses and runs one column's test by the plan's precedence. */
export function testColumn(
  plan: DriftTestPlan,
  column: {
    name: string;
    kind: DriftColumnKind;
    reference: Distribution;
    current: Distribution;
  },
): ColumnDrift {
  const { name, kind, reference, current } = column;
  const base = { name, kind, reference, current };
  if (reference.n === 0 || current.n === 0) {
    const empty = reference.n === 0 ? "reference" : "current";
    return {
      ...base,
      method: null,
      score: null,
      threshold: null,
      drifted: false,
      chosenBy: "auto",
      note: `no value in the ${empty} period (all NULL): not tested`,
    };
  }
  const setting = plan.features[name];
  let method: DriftMethod;
  let chosenBy: ColumnDrift["chosenBy"];
  let note: string | null = null;
  if (setting !== undefined) {
    method = setting.method;
    chosenBy = "feature";
  } else if (plan.method !== "auto" && methodApplies(plan.method, kind)) {
    method = plan.method;
    chosenBy = "method";
  } else {
    method = chooseDriftMethod(kind, reference, current);
    chosenBy = "auto";
    if (plan.method !== "auto")
      note = `${plan.method} cannot test a ${kind} column; the auto rule chose ${method}`;
  }
  // A global threshold is meant for the global method's scale (p-values or distances).
  const globalThreshold =
    chosenBy === "method" || (chosenBy === "auto" && plan.method === "auto")
      ? plan.threshold
      : undefined;
  const threshold =
    (setting === undefined ? globalThreshold : setting.threshold) ??
    DEFAULT_DRIFT_THRESHOLDS[method];
  const result = driftTest(method, reference, current, { kind, threshold });
  return {
    ...base,
    method,
    score: result.score,
    threshold: result.threshold,
    drifted: result.drifted,
    chosenBy,
    note,
  };
}

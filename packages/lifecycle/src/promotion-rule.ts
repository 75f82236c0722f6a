/**
 * The lab's promotion rule (`should_promote(new, prod, δ)`), kept exactly: a missing or NaN
 * current value never blocks a candidate (there is nothing to beat), a missing or NaN candidate
 * value never wins, and otherwise the candidate must beat the current value by more than δ.
 */
export function shouldPromote(
  candidate: number | null | undefined,
  current: number | null | undefined,
  minDelta: number,
): boolean {
  if (current === null || current === undefined || Number.isNaN(current))
    return true;
  if (candidate === null || candidate === undefined || Number.isNaN(candidate))
    return false;
  return candidate > current + minDelta;
}

/** Statuses the official client retries (`status_forcelist` in `mlflow/utils/request_utils.py`). */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([
  408, 429, 500, 502, 503, 504,
]);

/**
 * Statuses that say the request was not processed, so even a non-idempotent create may be resent.
 * A 500/502/504 or a timeout is ambiguous: the server may have done the work.
 */
export const NOT_PROCESSED_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/** Network failures where the request never reached the server; safe to resend for any call. */
export const NOT_SENT_ERRORS: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** Network failures urllib3 retries as connect or read errors. */
export const RETRY_NETWORK_ERRORS: ReadonlySet<string> = new Set([
  ...NOT_SENT_ERRORS,
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
]);

export interface RetryPolicy {
  maxRetries: number;
  backoffFactorMs: number;
  backoffJitterMs: number;
  backoffMaxMs: number;
}

/**
 * Delay before retry number `retry` (1-based), as urllib3 2.x computes it: none before the first
 * retry, then factor · 2^(retry−1) seconds plus U(0, jitter), capped.
 */
export function backoffDelayMs(
  policy: RetryPolicy,
  retry: number,
  random: () => number,
): number {
  if (retry <= 1) return 0;
  const ms =
    policy.backoffFactorMs * 2 ** (retry - 1) +
    (policy.backoffJitterMs > 0 ? random() * policy.backoffJitterMs : 0);
  return Math.max(0, Math.min(policy.backoffMaxMs, Math.round(ms)));
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. undefined when absent or unreadable. */
export function parseRetryAfterMs(
  header: string | undefined,
  now: Date,
): number | undefined {
  if (header === undefined || header.trim() === "") return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

/**
 * Canonical JSON text: object keys sorted by code unit at every level, no whitespace, numbers
 * as ECMAScript prints them (the JCS rules, RFC 8785, minus its string escaping rules, which
 * JSON.stringify already applies deterministically). The same value always gives the same bytes,
 * so callers can hash the text.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`canonical JSON cannot hold ${value}`);
  }
  return value;
}

import { createHash } from "node:crypto";
import { FeaturesError } from "../errors.ts";

/** Shard `index` of `count`: the users whose bucket (see shardBucket) equals `index`. */
export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

/** More shards than this is a typo, not a plan: 2 cores per worker would need a 2,048-core cluster. */
export const MAX_SHARDS = 1024;

const HINT = `Use I/N with 0 <= I < N <= ${MAX_SHARDS}, e.g. 0/4 for the first of four shards.`;

function invalid(message: string, value: unknown): FeaturesError {
  return new FeaturesError("SHARD_INVALID", message, {
    hint: HINT,
    details: { value },
  });
}

/**
 * Checks a shard given as numbers (a library caller's), with the same rules as parseShard.
 *
 * @throws FeaturesError SHARD_INVALID.
 */
export function checkShard(shard: Shard): Shard {
  const { index, count } = shard;
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw invalid(
      `shard count must be a whole number from 1 to ${MAX_SHARDS}, got ${String(count)}`,
      shard,
    );
  }
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw invalid(
      `shard index must be a whole number from 0 to ${count - 1} (0-based), got ${String(index)}`,
      shard,
    );
  }
  return { index, count };
}

/**
 * Parses `--shard I/N` (0-based I).
 *
 * @throws FeaturesError SHARD_INVALID for anything but two decimal numbers with 0 <= I < N <= 1024.
 */
export function parseShard(text: string): Shard {
  const match = /^(0|[1-9]\d{0,5})\/([1-9]\d{0,5})$/.exec(text);
  if (match === null)
    throw invalid(
      `shard must be I/N (two whole numbers, 0-based I), got '${text}'`,
      text,
    );
  return checkShard({ index: Number(match[1]), count: Number(match[2]) });
}

/**
 * The shard bucket of a user id, as the SQL of shardPredicate computes it: the first 32 bits of
 * md5(UTF-8 id), unsigned, mod `count`. md5 is in every PostgreSQL and in PGlite, so a shard is the
 * same set on every run and engine; it only spreads ids, it protects nothing.
 */
export function shardBucket(userId: string, count: number): number {
  return (
    createHash("md5").update(userId, "utf8").digest().readUInt32BE(0) % count
  );
}

/** The SQL expression of shardBucket over a text column. */
export function shardBucketSql(column: string, count: number): string {
  // 8 hex digits = 32 bits; bit(32) -> bigint reads them unsigned (no sign bit in 64).
  return `(('x' || substr(md5(${column}), 1, 8))::bit(32)::bigint % ${count})`;
}

/** A WHERE condition keeping the shard's users; `TRUE` without a shard. Literals only: cursors take no parameters. */
export function shardPredicate(
  column: string,
  shard: Shard | undefined,
): string {
  if (shard === undefined) return "TRUE";
  const { index, count } = checkShard(shard);
  return count === 1 ? "TRUE" : `${shardBucketSql(column, count)} = ${index}`;
}

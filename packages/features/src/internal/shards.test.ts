import { describe, expect, it } from "vitest";
import { FeaturesError } from "../errors.ts";
import {
  MAX_SHARDS,
  parseShard,
  shardBucket,
  shardPredicate,
} from "./shards.ts";

function shardError(fn: () => unknown): FeaturesError {
  try {
    fn();
  } catch (error) {
    if (error instanceof FeaturesError) return error;
    throw error;
  }
  throw new Error("expected a FeaturesError");
}

describe("parseShard", () => {
  it.each([
    ["0/1", 0, 1],
    ["2/3", 2, 3],
    ["0/1024", 0, MAX_SHARDS],
    ["1023/1024", 1023, 1024],
  ])("reads %s", (text, index, count) => {
    expect(parseShard(text)).toEqual({ index, count });
  });

  it.each([
    "",
    "1",
    "3/3",
    "4/3",
    "-1/3",
    "0/0",
    "0/1025",
    "1/-3",
    " 0/2",
    "0/2 ",
    "01/3",
    "1.0/3",
    "0x1/3",
    "a/b",
    "1/2/3",
    "0 / 2",
  ])(
    "refuses '%s' with SHARD_INVALID, naming the value and the rule",
    (text) => {
      const error = shardError(() => parseShard(text));
      expect(error.code).toBe("SHARD_INVALID");
      expect(error.message).toMatch(/shard/);
      expect(error.hint).toContain("0 <= I < N <= 1024");
    },
  );

  it("gives the refused value in the message", () => {
    expect(shardError(() => parseShard("5/3")).message).toContain("5");
    expect(shardError(() => parseShard("x/3")).message).toContain("'x/3'");
  });
});

describe("shard buckets", () => {
  it("are the first 32 bits of md5(UTF-8 id), unsigned, mod N", () => {
    // RFC 1321 test vector: md5("abc") = 900150983cd24fb0d6963f7d28e17f72.
    expect(shardBucket("abc", 2 ** 32 - 1)).toBe(0x90015098);
    expect(shardBucket("abc", 7)).toBe(0x90015098 % 7);
    expect(shardBucket("anything", 1)).toBe(0);
  });

  it("spread ids evenly enough that shards take similar work", () => {
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70_000; i++)
      counts[shardBucket(`${String(i).padStart(4, "0")}-ABCDE`, 7)]!++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  it("need no predicate for one shard or none, and check the shard they are given", () => {
    expect(shardPredicate("user_id", undefined)).toBe("TRUE");
    expect(shardPredicate("user_id", { index: 0, count: 1 })).toBe("TRUE");
    expect(shardPredicate("user_id", { index: 2, count: 3 })).toMatch(
      /md5\(user_id\).*% 3\) = 2$/,
    );
    expect(
      shardError(() => shardPredicate("user_id", { index: 3, count: 3 })).code,
    ).toBe("SHARD_INVALID");
    expect(
      shardError(() => shardPredicate("user_id", { index: 0.5, count: 3 }))
        .code,
    ).toBe("SHARD_INVALID");
  });
});

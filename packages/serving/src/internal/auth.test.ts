import { describe, expect, it } from "vitest";
import { createTokenCheck } from "./auth.ts";

describe("createTokenCheck", () => {
  const check = createTokenCheck("s3cret-token");

  it("accepts the exact bearer token, case-insensitive scheme", () => {
    expect(check("Bearer s3cret-token")).toBe(true);
    expect(check("bearer s3cret-token")).toBe(true);
  });

  it.each([
    undefined,
    "",
    "Bearer",
    "Bearer ",
    "Bearer s3cret-toke",
    "Bearer s3cret-token ",
    "Basic s3cret-token",
    "s3cret-token",
    "Bearer S3CRET-TOKEN",
  ])("refuses %j", (header) => {
    expect(check(header)).toBe(false);
  });
});

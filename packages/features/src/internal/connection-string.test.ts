import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FeaturesError } from "../errors.ts";
import { checkDatabaseUrl, redactDatabaseUrl } from "./connection-string.ts";

const SECRET = "Zq7SECRETpw";

function invalidMessage(url: string): string {
  try {
    checkDatabaseUrl(url);
  } catch (error) {
    expect(error).toBeInstanceOf(FeaturesError);
    expect((error as FeaturesError).code).toBe("DATABASE_URL_INVALID");
    return `${(error as FeaturesError).message}\n${(error as FeaturesError).hint ?? ""}`;
  }
  throw new Error(`expected '${url}' to be refused`);
}

describe("redactDatabaseUrl", () => {
  it.each([
    ["userinfo", `postgres://app:${SECRET}@db.example:5432/sf`],
    [
      "percent-encoded userinfo",
      `postgres://app:${SECRET}%40%23x@db.example/sf`,
    ],
    ["?password=", `postgres://app@db.example/sf?password=${SECRET}`],
    [
      "percent-encoded ?password=",
      `postgres://app@db.example/sf?password=${SECRET}%26%3D`,
    ],
    [
      "percent-encoded parameter name",
      `postgres://app@db.example/sf?pass%77ord=${SECRET}`,
    ],
    [
      "?sslpassword=",
      `postgresql://app@db.example/sf?sslmode=require&sslpassword=${SECRET}`,
    ],
    [
      "a token-like parameter",
      `postgres://app@db.example/sf?auth_token=${SECRET}`,
    ],
    [
      "both at once",
      `postgres://app:${SECRET}@db.example/sf?password=${SECRET}`,
    ],
    ["a space pg encodes first", `postgres://app:${SECRET} x@db.example/sf`],
    ["a fragment", `postgres://app:#${SECRET}@db.example/sf`],
    ["key=value", `host=db.example password=${SECRET} dbname=sf`],
    ["key=value, quoted", `host=db.example password = '${SECRET} x' dbname=sf`],
    ["key=value, sslpassword", `host=db.example sslpassword=${SECRET}`],
    ["unparseable", `postgres://app:${SECRET}/x@db.example:abc/sf`],
    ["another scheme", `mysql://app:${SECRET}@db.example/sf`],
  ])("hides the password given as %s", (_form, url) => {
    const shown = redactDatabaseUrl(url);
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain(encodeURIComponent(SECRET));
  });

  it("keeps what is not secret", () => {
    expect(
      redactDatabaseUrl(
        "postgres://app:pw@db.example:5433/sf?sslmode=require&password=pw&application_name=x",
      ),
    ).toBe(
      "postgres://app:***@db.example:5433/sf?sslmode=require&password=***&application_name=x",
    );
    expect(redactDatabaseUrl("host=db.example password=pw dbname=sf")).toBe(
      "host=db.example password=*** dbname=sf",
    );
  });
});

describe("checkDatabaseUrl", () => {
  it("reads host, port and database as pg does, never the password", () => {
    expect(
      checkDatabaseUrl(
        `postgres://app:${SECRET}@127.0.0.1:5432/streamflow?password=${SECRET}`,
      ),
    ).toEqual({
      host: "127.0.0.1",
      port: 5432,
      database: "streamflow",
      location: "PostgreSQL at 127.0.0.1:5432/streamflow",
    });
    expect(checkDatabaseUrl("postgresql://app@[::1]/sf").location).toBe(
      "PostgreSQL at [::1]:5432/sf",
    );
    expect(checkDatabaseUrl("postgres://app@db.example").location).toBe(
      "PostgreSQL at db.example:5432/app",
    );
    expect(
      checkDatabaseUrl(
        "postgres://app@db.example/sf?host=/run/postgresql&port=5433",
      ).location,
    ).toBe("PostgreSQL at /run/postgresql:5433/sf");
    // pg reads '@' in a password as part of it (the last '@' ends the user info).
    expect(
      checkDatabaseUrl(`postgres://app:${SECRET}@x@db.example/sf`).host,
    ).toBe("db.example");
  });

  it.each([
    [
      "a port that is not a number",
      "postgres://app@127.0.0.1:abc/sf",
      /port 'abc' is not a number/,
    ],
    [
      "a port parameter that is not a number",
      "postgres://app@127.0.0.1/sf?port=abc",
      /port 'abc' is not a number/,
    ],
    [
      "a port out of range",
      "postgres://app@127.0.0.1/sf?port=70000",
      /port '70000' is not a number from 1 to 65535/,
    ],
    [
      "'#' in the password",
      `postgres://app:${SECRET}#1@127.0.0.1:5432/sf`,
      /contains '#'.*%23/,
    ],
    [
      "'/' in the password",
      `postgres://app:${SECRET}/1@127.0.0.1:5432/sf`,
      /reserved character that is not percent-encoded/,
    ],
    [
      "'?' in the password",
      `postgres://app:${SECRET}?1@127.0.0.1:5432/sf`,
      /reserved character that is not percent-encoded/,
    ],
    [
      "a bad percent-encoding",
      `postgres://app:${SECRET}%ff@127.0.0.1:5432/sf`,
      /not valid percent-encoded UTF-8/,
    ],
    ["a bad host", `postgres://app:${SECRET}@[zz/sf`, /not a valid URL/],
    [
      "another scheme",
      `mysql://app:${SECRET}@127.0.0.1/sf`,
      /must start with postgres:\/\//,
    ],
    [
      "a libpq key=value string",
      `host=127.0.0.1 password=${SECRET}`,
      /key=value strings are not accepted/,
    ],
  ])(
    "refuses %s, naming the problem and not the password",
    (_what, url, expected) => {
      const message = invalidMessage(url);
      expect(message).toMatch(expected);
      expect(message).not.toContain(SECRET);
    },
  );

  it("refuses an SSL file pg cannot read, naming the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sf-ssl-"));
    try {
      const message = invalidMessage(
        `postgres://app:${SECRET}@127.0.0.1/sf?sslrootcert=${join(dir, "missing.pem")}`,
      );
      expect(message).toContain("missing.pem");
      expect(message).not.toContain(SECRET);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { createRequire } from "node:module";
import { FeaturesError } from "../errors.ts";

/** What pg reads from a connection string; every query parameter lands here under its own name. */
type PgConnectionConfig = Record<string, unknown> & {
  host?: string | null;
  port?: string | null;
  database?: string | null;
  user?: string;
};

let pgParse: ((url: string) => PgConnectionConfig) | undefined;

/**
 * pg turns `connectionString` into settings with pg-connection-string, its own dependency. Loading
 * that module through pg validates a URL with the very parser (and version) pg will apply to it.
 */
function parseLikePg(url: string): PgConnectionConfig {
  if (pgParse === undefined) {
    const requireFromPg = createRequire(
      createRequire(import.meta.url).resolve("pg"),
    );
    pgParse = (
      requireFromPg("pg-connection-string") as {
        parse: (s: string) => PgConnectionConfig;
      }
    ).parse;
  }
  return pgParse(url);
}

/**
 * Names of connection settings whose value is a secret: `password` (which pg reads from the query
 * as readily as from `user:password@`), libpq's `sslpassword`, and anything that looks like a
 * token. File paths (`sslkey`, `sslcert`, `passfile`) are not secrets and stay visible.
 */
const SECRET_SETTING = /^(password|sslpassword|passphrase)$|secret|token/i;

const ENCODE_HINT =
  "Percent-encode reserved characters in the user name and password (# → %23, @ → %40, : → %3A, / → %2F, ? → %3F, % → %25), " +
  "e.g. postgres://user:p%23ss@127.0.0.1:5432/streamflow; or unset STREAMFLOW_DATABASE_URL (--database-url) to use the embedded database.";

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/**
 * pg-connection-string's own pre-step: a URL with spaces or stray `%` is encoded before parsing, so
 * the redaction sees the same user, password and parameters pg does.
 */
function asPgSeesIt(url: string): string {
  return / |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(url)
    ? encodeURI(url).replace(/%25(\d\d)/g, "%$1")
    : url;
}

function redactUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(asPgSeesIt(text));
  } catch {
    return "<unparseable database URL>";
  }
  if (u.password !== "") u.password = "***";
  for (const key of new Set(u.searchParams.keys())) {
    if (SECRET_SETTING.test(key)) u.searchParams.set(key, "***");
  }
  // Whatever follows a '#' is not part of any setting, and is often the tail of a password.
  u.hash = "";
  return u.toString();
}

/** `password=secret`, `password = 'a b'`, `sslpassword=x` in libpq's key=value form. */
const KEY_VALUE_SECRET = /\b([\w-]+)(\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&;]*)/g;

/**
 * Removes every secret from a connection string so it can appear in messages and logs: the
 * password of `user:password@`, secret query parameters (`?password=`, `?sslpassword=`), and
 * secret `key=value` settings. Anything after `#` is dropped. Works on malformed input too.
 */
export function redactDatabaseUrl(text: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return redactUrl(text);
  return text.replace(KEY_VALUE_SECRET, (all, key: string, eq: string) =>
    SECRET_SETTING.test(key) ? `${key}${eq}***` : all,
  );
}

/** Where a PostgreSQL URL points, with nothing secret in it. */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  /** `PostgreSQL at host:port/database`, the form every message and output shows. */
  location: string;
}

function invalid(message: string, cause?: unknown): FeaturesError {
  return new FeaturesError("DATABASE_URL_INVALID", message, {
    hint: ENCODE_HINT,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Why a postgres:// URL does not parse, quoting nothing that could be part of a password: a
 * piece of the authority is only named when it follows the last '@' (or there is no '@' at all).
 */
function whyUnparseable(url: string): string {
  const rest = url.slice(url.indexOf("://") + 3);
  const authority = rest.split(/[/?]/, 1)[0] ?? "";
  const at = authority.lastIndexOf("@");
  if (at < 0 && rest.includes("@")) {
    return "the database URL is not a valid URL: its '@' comes after a '/' or '?', so the user name or password holds a reserved character that is not percent-encoded";
  }
  const port = /:([^:\]]*)$/.exec(authority.slice(at + 1))?.[1];
  if (port !== undefined && !/^\d*$/.test(port))
    return `the database URL is not a valid URL: its port '${port}' is not a number`;
  return "the database URL is not a valid URL (a reserved character in the user name or password that is not percent-encoded, or a malformed host or port)";
}

/**
 * Checks a database URL the way pg will read it and says where it points. Throws
 * DATABASE_URL_INVALID, naming what is wrong but never the password, for anything pg would
 * misread or crash on: another scheme, a '#' (which cuts the URL short), an unparseable URL, a
 * bad percent-encoding, a port that is not a number, an SSL file that cannot be read.
 */
export function checkDatabaseUrl(url: string): PostgresTarget {
  if (!isPostgresUrl(url)) {
    throw new FeaturesError(
      "DATABASE_URL_INVALID",
      `database URL must start with postgres:// or postgresql://, got '${redactDatabaseUrl(url)}'`,
      {
        hint: "Unset STREAMFLOW_DATABASE_URL to use the embedded database, or give a URL such as postgres://user@127.0.0.1:5432/streamflow (libpq key=value strings are not accepted).",
      },
    );
  }
  if (url.includes("#")) {
    throw invalid(
      "the database URL contains '#', which ends a URL there: a '#' in a password must be written %23",
    );
  }
  let config: PgConnectionConfig;
  try {
    config = parseLikePg(url);
  } catch (error) {
    if (error instanceof URIError) {
      throw invalid(
        "the database URL's user name or password has a '%' escape that is not valid percent-encoded UTF-8",
        error,
      );
    }
    if (typeof (error as NodeJS.ErrnoException | null)?.syscall === "string") {
      // pg reads sslcert/sslkey/sslrootcert while parsing; the message names the path, not a secret.
      throw invalid(
        `the database URL names an SSL file that cannot be read: ${(error as Error).message}`,
        error,
      );
    }
    throw invalid(whyUnparseable(url), error);
  }
  const portText =
    config.port === undefined || config.port === null || config.port === ""
      ? "5432"
      : String(config.port);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw invalid(
      `the database URL's port '${portText}' is not a number from 1 to 65535`,
    );
  }
  const host =
    config.host === undefined || config.host === null || config.host === ""
      ? "localhost"
      : config.host;
  // pg falls back to the user's name (then to the server's own default) when the URL names no database.
  const database = config.database || config.user || "(default database)";
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    host,
    port,
    database,
    location: `PostgreSQL at ${shownHost}:${port}/${database}`,
  };
}

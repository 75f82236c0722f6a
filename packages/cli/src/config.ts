import { readFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { z } from "zod";
import {
  LAB_REPOSITORY,
  parseFeatureRepository,
  repositoryHash,
  type FeatureRepository,
} from "@streamflow/features";
import { CliError } from "./errors.ts";
import type { CliIo } from "./io.ts";

/** Flags every command shares. */
export interface GlobalFlags {
  databaseUrl?: string | undefined;
  trackingUri?: string | undefined;
  home?: string | undefined;
  json?: boolean | undefined;
  verbose?: boolean | undefined;
  features?: string | undefined;
}

/** Configuration after flag > env > streamflow.config.json > default; frozen, resolved once per run. */
export interface ResolvedConfig {
  /** PostgreSQL server URL; undefined selects the embedded PGlite. */
  databaseUrl: string | undefined;
  /** Where embedded state lives (PGlite data, local registry). */
  home: string;
  /** The embedded database's directory inside `home`. */
  pgDataDir: string;
  json: boolean;
  verbose: boolean;
  /** The config file that was read, if any. */
  configFile: string | undefined;
  /** MLflow connection; `uri` undefined selects the local registry under `home/registry`. */
  tracking: TrackingConfig;
  features: FeaturesConfig;
}

/** The feature repository in force: a user's file, or the lab's built in. */
export interface FeaturesConfig {
  /** The file read; undefined for the built-in lab repository. */
  file: string | undefined;
  repository: FeatureRepository;
  hash: string;
  /** True when it declares exactly the lab's repository (the built-in one, or a file saying the same). */
  isLab: boolean;
}

export const FEATURES_FILE = "streamflow.features.yaml";
const LAB_HASH = repositoryHash(LAB_REPOSITORY);
const BUILT_IN: FeaturesConfig = Object.freeze({
  file: undefined,
  repository: LAB_REPOSITORY,
  hash: LAB_HASH,
  isLab: true,
});

/** --features > STREAMFLOW_FEATURES > ./streamflow.features.yaml when there is one > the lab's. */
async function resolveFeatures(
  flags: GlobalFlags,
  io: CliIo,
): Promise<FeaturesConfig> {
  const explicit =
    nonEmpty(flags.features) ?? nonEmpty(io.env["STREAMFLOW_FEATURES"]);
  const path = resolve(io.cwd, explicit ?? FEATURES_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (explicit !== undefined)
      throw new CliError(
        "CONFIG_INVALID",
        `cannot read feature repository '${path}' (${flags.features !== undefined ? "--features" : "STREAMFLOW_FEATURES"}): ${(error as Error).message}`,
        {
          hint: "Write one with `streamflow init --example lab`, or leave --features out for the lab's built-in repository.",
        },
      );
    return BUILT_IN;
  }
  const repository = parseFeatureRepository(text, { file: path });
  const hash = repositoryHash(repository);
  return { file: path, repository, hash, isLab: hash === LAB_HASH };
}

/** MLflow settings, named and read like the Python client's (durations there are seconds). */
export interface TrackingConfig {
  uri: string | undefined;
  token: string | undefined;
  username: string | undefined;
  password: string | undefined;
  insecureTls: boolean;
  timeoutMs: number | undefined;
  maxRetries: number | undefined;
  backoffFactorMs: number | undefined;
  backoffJitterMs: number | undefined;
  /** Where the local registry lives when no tracking URI is set. */
  localRoot: string;
}

const CONFIG_FILE = "streamflow.config.json";

const fileSchema = z
  .object({
    databaseUrl: z.string().min(1).optional(),
    trackingUri: z.string().min(1).optional(),
    home: z.string().min(1).optional(),
  })
  .strict();

async function readConfigFile(
  io: CliIo,
): Promise<{ path: string | undefined; values: z.infer<typeof fileSchema> }> {
  const explicit = io.env["STREAMFLOW_CONFIG"];
  const path = resolve(io.cwd, explicit ?? CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (explicit !== undefined) {
      throw new CliError(
        "CONFIG_INVALID",
        `cannot read config file '${path}' (STREAMFLOW_CONFIG): ${(error as Error).message}`,
      );
    }
    return { path: undefined, values: {} };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      "CONFIG_INVALID",
      `${path} is not valid JSON: ${(error as Error).message}`,
    );
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `${i.path.join(".") || "(root)"}: ${i.message}`,
    );
    throw new CliError(
      "CONFIG_INVALID",
      `${path} is invalid:\n  ${lines.join("\n  ")}`,
      {
        hint: `Allowed keys: ${Object.keys(fileSchema.shape).join(", ")}.`,
      },
    );
  }
  return { path, values: parsed.data };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

export async function resolveConfig(
  flags: GlobalFlags,
  io: CliIo,
  options: { readFeatures?: boolean } = {},
): Promise<ResolvedConfig> {
  const file = await readConfigFile(io);
  const features =
    options.readFeatures === false
      ? BUILT_IN
      : await resolveFeatures(flags, io);
  const databaseUrl =
    nonEmpty(flags.databaseUrl) ??
    nonEmpty(io.env["STREAMFLOW_DATABASE_URL"]) ??
    file.values.databaseUrl;
  const homeSetting =
    nonEmpty(flags.home) ??
    nonEmpty(io.env["STREAMFLOW_HOME"]) ??
    file.values.home ??
    ".streamflow";
  const home = isAbsolute(homeSetting)
    ? homeSetting
    : resolve(io.cwd, homeSetting);
  const seconds = (name: string): number | undefined => {
    const raw = nonEmpty(io.env[name]);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0)
      throw new CliError(
        "CONFIG_INVALID",
        `${name} must be a number of seconds >= 0, got '${raw}'`,
      );
    return Math.round(n * 1000);
  };
  const retries = nonEmpty(io.env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]);
  if (retries !== undefined && !/^\d+$/.test(retries)) {
    throw new CliError(
      "CONFIG_INVALID",
      `MLFLOW_HTTP_REQUEST_MAX_RETRIES must be a whole number, got '${retries}'`,
    );
  }
  const tracking: TrackingConfig = Object.freeze({
    uri:
      nonEmpty(flags.trackingUri) ??
      nonEmpty(io.env["MLFLOW_TRACKING_URI"]) ??
      file.values.trackingUri,
    token: nonEmpty(io.env["MLFLOW_TRACKING_TOKEN"]),
    username: nonEmpty(io.env["MLFLOW_TRACKING_USERNAME"]),
    password: nonEmpty(io.env["MLFLOW_TRACKING_PASSWORD"]),
    insecureTls: /^(1|true|yes)$/i.test(
      io.env["MLFLOW_TRACKING_INSECURE_TLS"] ?? "",
    ),
    timeoutMs: seconds("MLFLOW_HTTP_REQUEST_TIMEOUT"),
    maxRetries: retries === undefined ? undefined : Number(retries),
    backoffFactorMs: seconds("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"),
    backoffJitterMs: seconds("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"),
    localRoot: join(home, "registry"),
  });
  return Object.freeze({
    tracking,
    databaseUrl,
    home,
    pgDataDir: join(home, "pgdata"),
    json: flags.json ?? false,
    verbose: flags.verbose ?? false,
    configFile: file.path,
    features: Object.freeze(features),
  });
}

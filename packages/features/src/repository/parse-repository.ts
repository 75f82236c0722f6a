import { LineCounter, parseDocument, isMap, isSeq, type Node } from "yaml";
import { z } from "zod";
import { FeaturesError } from "../errors.ts";
import { MAX_FIELD_LENGTH } from "./column-types.ts";
import type {
  FeatureRepository,
  RepositoryColumn,
  RepositorySource,
} from "./feature-repository.ts";
import { SQL_KEYWORDS } from "./sql-keywords.ts";

/** A name that becomes a table or a column as it is: lower case, no quoting needed, within PostgreSQL's 63 bytes. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
const identifier = z
  .string()
  .regex(
    IDENTIFIER,
    "must be a lower-case SQL identifier: a-z, 0-9 and _, not starting with a digit, at most 63 characters",
  );

/** A name that is itself a table or a column, where an SQL keyword would break the statement. */
const sqlName = identifier.refine((name) => !SQL_KEYWORDS.has(name), {
  message:
    "is an SQL keyword, which PostgreSQL does not take as a table or column name: choose another",
});

/** INTEGER columns hold 32-bit values: a bound beyond them could never be met. */
const INT32 = { min: -2_147_483_648, max: 2_147_483_647 };
/** PostgreSQL's longest name (NAMEDATALEN - 1); a longer one is silently cut. */
const MAX_NAME_LENGTH = 63;

const COLUMN_TYPES = ["text", "integer", "double", "boolean", "date"] as const;

const columnSchema = z.strictObject({
  name: sqlName,
  type: z.enum(COLUMN_TYPES),
  nullable: z.boolean().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  allowed: z.array(z.string()).min(1).optional(),
  max_length: z.number().int().positive().optional(),
});

const fileSchema = z.strictObject({
  version: z.literal(1),
  entity: z.strictObject({
    name: identifier,
    join_key: sqlName,
    max_key_length: z.number().int().positive().max(10_000).optional(),
  }),
  sources: z
    .array(
      z.strictObject({
        name: sqlName,
        file: z.string().min(1).optional(),
        format: z.enum(["csv", "parquet"]).optional(),
        entity_table: z.boolean().optional(),
        columns: z.array(columnSchema).min(1),
      }),
    )
    .min(1),
  feature_views: z
    .array(
      z.strictObject({
        name: identifier,
        source: identifier,
        snapshot_table: sqlName.optional(),
        features: z.array(identifier).min(1),
        ttl_days: z.number().int().positive().nullable().optional(),
      }),
    )
    .min(1),
  label: z.strictObject({
    source: identifier,
    column: identifier,
    snapshot_table: sqlName.optional(),
  }),
  model: z
    .strictObject({ categorical: z.array(identifier).optional() })
    .optional(),
});

type RepositoryFile = z.infer<typeof fileSchema>;
type KeyPath = readonly (string | number)[];

interface Problem {
  path: KeyPath;
  message: string;
}

/**
 * Reads a feature repository file's text (YAML; JSON is YAML too) and checks it whole: shape,
 * then every reference between its parts.
 * @throws FeaturesError REPOSITORY_INVALID naming the file, the key path (`sources[1].columns[0].type`), its line and what to write instead.
 */
export function parseFeatureRepository(
  text: string,
  options: { file: string },
): FeatureRepository {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const locate = (path: KeyPath) => lineOf(doc.contents, path, lines);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw invalid(options.file, {
      path: [],
      message: e.message.split("\n")[0]!,
      line: e.linePos?.[0].line,
    });
  }
  const parsed = fileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.filter(
      (p): p is string | number => typeof p !== "symbol",
    );
    throw invalid(options.file, {
      path,
      message: issue.message,
      line: locate(path),
    });
  }
  const problems = checkReferences(parsed.data);
  if (problems.length > 0) {
    const p = problems[0]!;
    throw invalid(options.file, {
      ...p,
      line: locate(p.path),
      count: problems.length,
    });
  }
  return resolve(parsed.data);
}

function invalid(
  file: string,
  {
    path,
    message,
    line,
    count = 1,
  }: Problem & { line: number | undefined; count?: number },
): FeaturesError {
  const key = keyPath(path);
  const where = `${file}${line === undefined ? "" : `:${line}`}`;
  return new FeaturesError(
    "REPOSITORY_INVALID",
    `feature repository ${where}${key === "" ? "" : `, ${key}`}: ${message}${count > 1 ? ` (and ${count - 1} more problem${count > 2 ? "s" : ""})` : ""}`,
    {
      hint: "Fix the file (`streamflow init --example lab` writes a complete one to start from), then run `streamflow features show` to see what it resolves to.",
      details: { file, key, line: line ?? null },
    },
  );
}

/** `sources[1].columns[0].type`, the form the error names a key in. */
export function keyPath(path: KeyPath): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join("");
}

/** The 1-based line of the deepest node of `path` the document has (a missing key: its parent's). */
function lineOf(
  root: unknown,
  path: KeyPath,
  lines: LineCounter,
): number | undefined {
  let node = root as Node | null | undefined;
  let found = node;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => (p.key as { value?: unknown } | null)?.value === key,
      );
      node = pair?.value as Node | undefined;
    } else if (isSeq(node) && typeof key === "number") {
      node = node.items[key] as Node | undefined;
    } else node = undefined;
    if (node == null) break;
    found = node;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/** Tables of the store itself, which no source or snapshot may be named after. */
const STORE_TABLES = new Set([
  "streamflow_schema_migrations",
  "feature_repository",
  "ingestions",
  "materializations",
  "churn_predictions",
  "drift_reports",
  "pipeline_runs",
  "pipeline_workers",
]);
/** Columns the store adds to snapshot and online tables, or carries through its own reads. */
const STORE_COLUMNS = new Set(["as_of", "updated_at", "scored"]);
/** Fields of the service's answers, which the join key would overwrite. */
const API_FIELDS = new Set([
  "churn_probability",
  "prediction",
  "threshold",
  "model",
  "features",
  "features_used",
  "features_as_of",
  "statuses",
  "error",
  "message",
  "missing_feature_views",
  "results",
  "predicted",
  "not_found",
]);

function checkReferences(file: RepositoryFile): Problem[] {
  const problems: Problem[] = [];
  const add = (path: KeyPath, message: string) =>
    problems.push({ path, message });
  const joinKey = file.entity.join_key;
  const onlineTable = `online_${file.entity.name}_features`;
  const reservedTable = (name: string) =>
    STORE_TABLES.has(name) ||
    name === onlineTable ||
    name.startsWith("streamflow_");
  const viewAsOf = new Set(file.feature_views.map((v) => `${v.name}_as_of`));
  if (STORE_COLUMNS.has(joinKey) || viewAsOf.has(joinKey))
    add(
      ["entity", "join_key"],
      `'${joinKey}' is a column the store adds itself: name the key otherwise`,
    );
  if (API_FIELDS.has(joinKey))
    add(
      ["entity", "join_key"],
      `'${joinKey}' is a field of the prediction service's answers, which the key also names: name the key otherwise`,
    );
  // Names the store makes from the declared ones must fit PostgreSQL's, which cuts longer ones.
  const fits = (made: string, path: KeyPath, what: string) => {
    if (made.length > MAX_NAME_LENGTH)
      add(
        path,
        `makes ${what} '${made}', longer than PostgreSQL's ${MAX_NAME_LENGTH}-character names: shorten it`,
      );
  };
  fits(onlineTable, ["entity", "name"], "the online table");
  file.sources.forEach((s, i) =>
    fits(
      `streamflow_stage_${s.name}`,
      ["sources", i, "name"],
      "the staging table",
    ),
  );
  file.feature_views.forEach((v, i) =>
    fits(`${v.name}_as_of`, ["feature_views", i, "name"], "the online column"),
  );
  if (file.label.snapshot_table === undefined)
    fits(
      `${file.label.source}_snapshots_as_of`,
      ["label", "source"],
      "the label snapshots' index",
    );
  else
    fits(
      `${file.label.snapshot_table}_as_of`,
      ["label", "snapshot_table"],
      "the label snapshots' index",
    );

  const sources = new Map<string, RepositoryFile["sources"][number]>();
  const tables = new Set<string>();
  file.sources.forEach((s, i) => {
    if (reservedTable(s.name))
      add(
        ["sources", i, "name"],
        `'${s.name}' is a table of the store itself: name the source otherwise`,
      );
    if (
      s.file !== undefined &&
      (/[/\\]/.test(s.file) || s.file.startsWith("."))
    )
      add(
        ["sources", i, "file"],
        `'${s.file}' must be a plain file name inside the month directory`,
      );
    if (sources.has(s.name))
      add(["sources", i, "name"], `source '${s.name}' is declared twice`);
    sources.set(s.name, s);
    tables.add(s.name);
    const format = s.format ?? formatOf(s.file);
    if (s.file !== undefined && formatOf(s.file) !== format)
      add(
        ["sources", i, "file"],
        `'${s.file}' does not end in .${format === "csv" ? "csv" : "parquet"} as format ${format} wants`,
      );
    const names = new Set<string>();
    s.columns.forEach((c, j) => {
      const at = ["sources", i, "columns", j];
      if (c.name === joinKey)
        add(
          [...at, "name"],
          `'${c.name}' is the entity's join key, which every source has first: leave it out of columns`,
        );
      if (STORE_COLUMNS.has(c.name) || viewAsOf.has(c.name))
        add(
          [...at, "name"],
          `'${c.name}' is a column the store adds itself: name the column otherwise`,
        );
      if (names.has(c.name))
        add(
          [...at, "name"],
          `column '${c.name}' is declared twice in source '${s.name}'`,
        );
      names.add(c.name);
      const numeric = c.type === "integer" || c.type === "double";
      if ((c.min !== undefined || c.max !== undefined) && !numeric)
        add(
          [...at, c.min !== undefined ? "min" : "max"],
          `min and max apply to integer and double columns; '${c.name}' is ${c.type}`,
        );
      if (c.min !== undefined && c.max !== undefined && c.min > c.max)
        add([...at, "min"], `min ${c.min} is above max ${c.max}`);
      if (c.type === "integer")
        for (const bound of ["min", "max"] as const) {
          const value = c[bound];
          if (value !== undefined && !Number.isInteger(value))
            add(
              [...at, bound],
              `${bound} of integer column '${c.name}' must be an integer, got ${value}`,
            );
          else if (
            value !== undefined &&
            (value < INT32.min || value > INT32.max)
          )
            add(
              [...at, bound],
              `${bound} ${value} of integer column '${c.name}' is outside the 32-bit integers it holds (${INT32.min} to ${INT32.max}); declare it double for larger numbers`,
            );
        }
      if (c.allowed !== undefined && c.type !== "text")
        add(
          [...at, "allowed"],
          `allowed values apply to text columns; '${c.name}' is ${c.type}`,
        );
      const longest = c.max_length ?? MAX_FIELD_LENGTH.text;
      c.allowed?.forEach((value, k) => {
        if (value.trim() === "")
          add(
            [...at, "allowed", k],
            `an empty allowed value cannot be told from NULL in a month file; make '${c.name}' nullable instead`,
          );
        else if (value.length > longest)
          add(
            [...at, "allowed", k],
            `allowed value '${value}' is longer than the column's max_length ${longest}`,
          );
      });
      if (
        c.max_length !== undefined &&
        c.max_length > MAX_FIELD_LENGTH.text * 256
      )
        add(
          [...at, "max_length"],
          `max_length ${c.max_length} is above the longest field a store accepts (${MAX_FIELD_LENGTH.text * 256})`,
        );
    });
  });
  const entityTables = file.sources
    .map((s, i) => [s, i] as const)
    .filter(([s]) => s.entity_table === true);
  if (entityTables.length > 1)
    add(
      ["sources", entityTables[1]![1], "entity_table"],
      `only one source can be the entity's own table; '${entityTables[0]![0].name}' already is`,
    );

  const features = new Map<string, string>();
  const featureTypes = new Map<string, string>();
  file.feature_views.forEach((v, i) => {
    const at = ["feature_views", i];
    const source = sources.get(v.source);
    if (source === undefined) {
      add(
        [...at, "source"],
        `no source named '${v.source}'; declared: ${[...sources.keys()].join(", ")}`,
      );
      return;
    }
    if (file.feature_views.findIndex((w) => w.name === v.name) !== i)
      add([...at, "name"], `feature view '${v.name}' is declared twice`);
    const snapshot = v.snapshot_table ?? `${v.source}_snapshots`;
    if (reservedTable(snapshot))
      add(
        [...at, v.snapshot_table === undefined ? "name" : "snapshot_table"],
        `'${snapshot}' is a table of the store itself: name the snapshot table otherwise`,
      );
    if (tables.has(snapshot))
      add(
        [...at, v.snapshot_table === undefined ? "name" : "snapshot_table"],
        `snapshot table '${snapshot}' is already a table of this repository: name another with snapshot_table`,
      );
    tables.add(snapshot);
    v.features.forEach((f, j) => {
      const column = source.columns.find((c) => c.name === f);
      if (column === undefined)
        add(
          [...at, "features", j],
          `source '${v.source}' has no column '${f}'; it has ${source.columns.map((c) => c.name).join(", ")}`,
        );
      else if (column.type === "date")
        add(
          [...at, "features", j],
          `'${f}' is a date, which a model cannot read: keep it a column of '${v.source}' (validated and stored) and serve a number derived from it, such as days since, as the feature`,
        );
      else featureTypes.set(f, column.type);
      const other = features.get(f);
      if (other !== undefined)
        add(
          [...at, "features", j],
          `feature '${f}' is already served by view '${other}': a model reads each feature once`,
        );
      features.set(f, v.name);
    });
  });

  const label = file.label;
  const labelSource = sources.get(label.source);
  if (labelSource === undefined)
    add(
      ["label", "source"],
      `no source named '${label.source}'; declared: ${[...sources.keys()].join(", ")}`,
    );
  else {
    const column = labelSource.columns.find((c) => c.name === label.column);
    if (column === undefined)
      add(
        ["label", "column"],
        `source '${label.source}' has no column '${label.column}'`,
      );
    else if (column.type !== "boolean")
      add(
        ["label", "column"],
        `the label must be a boolean column; '${label.column}' is ${column.type}`,
      );
    else if (column.nullable === true)
      add(
        ["label", "column"],
        `the label column '${label.column}' cannot be nullable: every user needs a label`,
      );
    if (features.has(label.column))
      add(
        ["label", "column"],
        `'${label.column}' is the label and a feature of view '${features.get(label.column)}': a model must not read its own answer`,
      );
    const snapshot = label.snapshot_table ?? `${label.source}_snapshots`;
    if (reservedTable(snapshot))
      add(
        [
          "label",
          label.snapshot_table === undefined ? "source" : "snapshot_table",
        ],
        `'${snapshot}' is a table of the store itself: name the label's snapshot table otherwise`,
      );
    if (tables.has(snapshot))
      add(
        [
          "label",
          label.snapshot_table === undefined ? "source" : "snapshot_table",
        ],
        `snapshot table '${snapshot}' is already a table of this repository: name another with snapshot_table`,
      );
  }
  (file.model?.categorical ?? []).forEach((f, i) => {
    const type = featureTypes.get(f);
    if (!features.has(f))
      add(["model", "categorical", i], `'${f}' is not a feature of any view`);
    else if (type !== undefined && type !== "text" && type !== "integer")
      add(
        ["model", "categorical", i],
        `'${f}' is ${type}: only a text or integer feature can be one-hot encoded`,
      );
  });
  return problems;
}

function formatOf(file: string | undefined): "csv" | "parquet" {
  return file?.toLowerCase().endsWith(".parquet") ? "parquet" : "csv";
}

function resolve(file: RepositoryFile): FeatureRepository {
  const sources: RepositorySource[] = file.sources.map((s) => {
    const format = s.format ?? formatOf(s.file);
    return {
      name: s.name,
      file: s.file ?? `${s.name}.${format}`,
      format,
      entityTable: s.entity_table ?? false,
      columns: s.columns.map((c): RepositoryColumn => ({
        name: c.name,
        type: c.type,
        nullable: c.nullable ?? false,
        min: c.min,
        max: c.max,
        allowed: c.allowed,
        maxLength: c.max_length ?? MAX_FIELD_LENGTH[c.type],
      })),
    };
  });
  // The entity's table first: the others' keys are checked against it.
  sources.sort((a, b) => Number(b.entityTable) - Number(a.entityTable));
  return {
    version: 1,
    entity: {
      name: file.entity.name,
      joinKey: file.entity.join_key,
      maxKeyLength: file.entity.max_key_length ?? 64,
    },
    sources,
    featureViews: file.feature_views.map((v) => ({
      name: v.name,
      source: v.source,
      snapshotTable: v.snapshot_table ?? `${v.source}_snapshots`,
      features: v.features,
      ttlDays: v.ttl_days ?? undefined,
    })),
    label: {
      source: file.label.source,
      column: file.label.column,
      snapshotTable:
        file.label.snapshot_table ?? `${file.label.source}_snapshots`,
    },
    model: { categorical: file.model?.categorical },
  };
}

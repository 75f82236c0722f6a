import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { ProgressListener } from "@streamflow/core";
import { FeaturesError } from "../errors.ts";
import type { ColumnSpec, StoreLayout } from "../layout.ts";
import type { RepositorySource } from "../repository/feature-repository.ts";
import {
  forEachCsvRecord,
  type CsvProblem,
  type CsvRecord,
} from "./csv-records.ts";
import { forEachParquetRecord } from "./parquet-records.ts";
import { ChunkQueue } from "./chunk-queue.ts";
import { checkMonthDirectory } from "./month-files.ts";

/**
 * One broken rule in one CSV cell (or header); line numbers are 1-based and count the header (0:
 * the file as a whole, column "(file)").
 */
export interface ValidationIssue {
  file: string;
  line: number;
  column: string;
  value: string;
  rule: ValidationRule;
  message: string;
}

export type ValidationRule =
  | "header_columns"
  | "field_count"
  | "empty_line"
  | "rows_required"
  | "user_id_required"
  | "user_id_unique"
  | "user_exists"
  | "not_null"
  | "boolean"
  | "integer"
  | "number"
  | "non_negative"
  | "min"
  | "max"
  | "allowed"
  | "date"
  | "utf8"
  | "csv_quote"
  | "nul"
  | "max_length"
  | "user_id_chars"
  | "file_missing"
  | "regular_file"
  | "readable"
  | "parquet";

/** A source file's destination: its table and the table's column order (the key, then the source's columns). */
export interface MonthFile {
  name: string;
  columns: string[];
}

/** A validated CSV. */
export interface ValidatedFile extends MonthFile {
  rows: number;
  /** The rows as COPY text, when no `load` callback consumed them. */
  copyChunks: string[];
}

/**
 * Receives a file's rows as COPY text (tab-separated, `\N` for NULL) while they are validated, so
 * a month never has to sit in memory whole. It stops receiving rows once any problem is found.
 */
export type LoadFile = (
  file: MonthFile,
  chunks: AsyncIterable<string>,
) => Promise<void>;

export interface ReadMonthOptions {
  onProgress?: ProgressListener | undefined;
  load?: LoadFile | undefined;
}

export interface ValidatedMonth {
  files: ValidatedFile[];
  /** sha256 over the normalised content of every source file: equal for equal data, whatever the file's column order, line ends or number spelling. */
  contentSha256: string;
}

const MAX_ISSUES = 50;
const CHUNK_LINES = 16_384;
/** Far above any valid record (a few hundred characters), low enough that a runaway quote or a huge field cannot exhaust memory. */
const MAX_RECORD_CHARS = 1 << 20;
/** Values in issues are cut to this length: a 10 MB field must not make a 10 MB error report. */
const MAX_SHOWN_VALUE = 256;
// C0 controls and DEL: never part of an id (serve refuses them too); NUL cannot be stored at all.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const NUL_PROBLEM = {
  rule: "nul",
  message: "contains a NUL character, which PostgreSQL text cannot hold",
} as const;
const INT32_MAX = 2_147_483_647;
const INTEGER_RE = /^[+-]?\d+$/;
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isCalendarDate(text: string): boolean {
  const m = DATE_RE.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return (
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d
  );
}

function copyEscape(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text
        .replace(/\\/g, "\\\\")
        .replace(/\t/g, "\\t")
        .replace(/\n/g, "\\n")
        .replace(/\r/g, "\\r")
    : text;
}

function clip(value: string): string {
  return value.length > MAX_SHOWN_VALUE
    ? `${value.slice(0, MAX_SHOWN_VALUE)}...`
    : value;
}

/** A value as a message shows it: short, and control characters spelled out so a terminal shows them. */
function quote(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return `'${shown.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}'`;
}

// The key's rules keep the names they had when every key was the lab's user_id: they are codes
// scripts match on (`details.errors[].rule`), while messages name the repository's own key.
function checkKey(
  id: string,
  mayHoldNul: boolean,
  entity: StoreLayout["entity"],
): { rule: ValidationRule; message: string } | undefined {
  if (id.trim() === "")
    return { rule: "user_id_required", message: "must not be empty" };
  if (id.length > entity.maxKeyLength)
    return {
      rule: "max_length",
      message: `is longer than ${entity.maxKeyLength} characters, the limit for ${entity.joinKey}`,
    };
  if (mayHoldNul && id.includes("\0")) return NUL_PROBLEM;
  if (CONTROL_RE.test(id))
    return {
      rule: "user_id_chars",
      message:
        "contains a control character (tab, line break, ...); ids are printable text",
    };
  return undefined;
}

/** Converts one cell to COPY text, or returns the rule it breaks. */
export function convertCell(
  spec: ColumnSpec,
  raw: string,
): string | { rule: ValidationRule; message: string } {
  if (raw.length > spec.maxLength)
    return {
      rule: "max_length",
      message: `is longer than ${spec.maxLength} characters, the limit for ${spec.name}`,
    };
  if (raw === "") {
    return spec.nullable
      ? "\\N"
      : {
          rule: "not_null",
          message: `must not be empty (${spec.type} column without NULLs)`,
        };
  }
  switch (spec.type) {
    case "boolean": {
      const lower = raw.toLowerCase();
      if (lower === "true") return "t";
      if (lower === "false") return "f";
      return {
        rule: "boolean",
        message: "must be True or False" + (spec.nullable ? " or empty" : ""),
      };
    }
    case "integer": {
      if (!INTEGER_RE.test(raw))
        return { rule: "integer", message: "must be a whole number" };
      const n = Number(raw);
      if (Math.abs(n) > INT32_MAX)
        return { rule: "integer", message: "must fit a 32-bit integer" };
      return outOfBounds(spec, n) ?? String(n);
    }
    case "double": {
      if (!NUMBER_RE.test(raw))
        return { rule: "number", message: "must be a decimal number" };
      const n = Number(raw);
      if (!Number.isFinite(n))
        return { rule: "number", message: "must be a finite number" };
      const broken = outOfBounds(spec, n);
      if (broken !== undefined) return broken;
      // The shortest round-trip spelling: float8 stores the very same double, and equal data hashes equal.
      return String(n);
    }
    case "date":
      return isCalendarDate(raw)
        ? raw
        : { rule: "date", message: "must be a calendar date YYYY-MM-DD" };
    case "text":
      if (spec.allowed !== undefined && !spec.allowed.includes(raw))
        return {
          rule: "allowed",
          message: `must be one of ${spec.allowed.map((a) => `'${a}'`).join(", ")}`,
        };
      return copyEscape(raw);
  }
}

function outOfBounds(
  spec: ColumnSpec,
  n: number,
): { rule: ValidationRule; message: string } | undefined {
  // min 0 keeps the lab's rule name: counts, amounts and durations are never negative.
  if (spec.min !== undefined && n < spec.min)
    return spec.min === 0
      ? { rule: "non_negative", message: "must be >= 0" }
      : { rule: "min", message: `must be >= ${spec.min}` };
  if (spec.max !== undefined && n > spec.max)
    return { rule: "max", message: `must be <= ${spec.max}` };
  return undefined;
}

interface FileContext {
  layout: StoreLayout;
  issues: ValidationIssue[];
  knownUsers: Set<string> | undefined;
  hash: ReturnType<typeof createHash>;
  onProgress: ProgressListener | undefined;
}

async function validateFile(
  dir: string,
  spec: RepositorySource,
  ctx: FileContext & { emit: ((chunk: string) => Promise<void>) | undefined },
): Promise<{ file: ValidatedFile; users: Set<string> }> {
  const name = spec.name;
  const fileName = spec.file;
  const path = join(dir, fileName);
  const { entity } = ctx.layout;
  const key = entity.joinKey;
  const columns = [key, ...spec.columns.map((c) => c.name)];
  const issue = (found: Omit<ValidationIssue, "file">) => {
    if (ctx.issues.length < MAX_ISSUES)
      ctx.issues.push({ file: fileName, ...found, value: clip(found.value) });
  };

  // checkMonthDirectory has established that the file exists; the size drives progress.
  const total = (await stat(path)).size;

  const users = new Set<string>();
  const chunks: string[] = [];
  let ready: string[] = [];
  let pending: string[] = [];
  let chars = 0;
  let lines = 0;
  let rows = 0;
  let blankRun = 0;
  let order: number[] | undefined; // CSV field index for each database column
  let specs: ColumnSpec[] = [];
  ctx.hash.update(`${name}\n`);
  // Rows go to the loader a read buffer at a time (with its backpressure), or are kept.
  async function flush(): Promise<void> {
    const out = ready;
    ready = [];
    for (const chunk of out) {
      if (ctx.emit === undefined) chunks.push(chunk);
      else if (ctx.issues.length === 0) await ctx.emit(chunk);
    }
  }
  const onProblem = (p: CsvProblem) => {
    const c = order === undefined ? -1 : order.indexOf(p.field);
    const column =
      order === undefined ? "(header)" : c === -1 ? "(line)" : columns[c]!;
    const limit =
      c === 0
        ? entity.maxKeyLength
        : c > 0
          ? specs[c - 1]!.maxLength
          : Infinity;
    const message =
      p.rule === "max_length" && p.value.length > limit
        ? `is longer than ${limit} characters, the limit for ${column}`
        : p.message;
    issue({ line: p.line, column, value: p.value, rule: p.rule, message });
  };

  const onRecord = (record: CsvRecord): boolean => {
    const lineNo = record.line;
    chars += record.text.length + 1;
    if (++lines % 65_536 === 0)
      ctx.onProgress?.({
        phase: `validate ${fileName}`,
        done: Math.min(chars, total),
        total,
      });
    if (ctx.issues.length >= MAX_ISSUES) return false;
    const fields = record.fields;
    if (order === undefined) {
      const header = fields.map((h) => h.trim());
      const missing = columns.filter((c) => !header.includes(c));
      const extra = header.filter(
        (h, i) => !columns.includes(h) || header.indexOf(h) !== i,
      );
      if (missing.length > 0 || extra.length > 0) {
        const parts = [
          missing.length > 0 ? `missing ${missing.join(", ")}` : "",
          extra.length > 0 ? `unexpected or repeated ${extra.join(", ")}` : "",
        ].filter(Boolean);
        issue({
          line: lineNo,
          column: "(header)",
          value: record.text,
          rule: "header_columns",
          message: `header must name exactly ${columns.join(", ")}: ${parts.join("; ")}`,
        });
        return false;
      }
      order = columns.map((c) => header.indexOf(c));
      specs = spec.columns as ColumnSpec[];
      return true;
    }
    if (record.text === "") {
      blankRun++;
      return true;
    }
    if (blankRun > 0) {
      issue({
        line: lineNo - blankRun,
        column: "(line)",
        value: "",
        rule: "empty_line",
        message: "empty line inside the data",
      });
      blankRun = 0;
    }
    if (fields.length !== columns.length) {
      issue({
        line: lineNo,
        column: "(line)",
        value: record.text,
        rule: "field_count",
        message: `has ${fields.length} fields, the header has ${columns.length} (a field holding a comma must be quoted)`,
      });
      return true;
    }
    rows++;
    const lineOf = (c: number) => record.fieldLines?.[order![c]!] ?? lineNo;
    const userId = fields[order[0]!]!;
    const idProblem = checkKey(userId, record.mayHoldNul, entity);
    if (idProblem !== undefined) {
      issue({
        line: lineOf(0),
        column: key,
        value: userId,
        ...idProblem,
      });
      return true;
    }
    if (users.has(userId)) {
      issue({
        line: lineOf(0),
        column: key,
        value: userId,
        rule: "user_id_unique",
        message: "appears more than once in the file",
      });
      return true;
    }
    users.add(userId);
    if (ctx.knownUsers !== undefined && !ctx.knownUsers.has(userId)) {
      issue({
        line: lineOf(0),
        column: key,
        value: userId,
        rule: "user_exists",
        message: `is not in ${entity.source?.file ?? "the entity's file"} of this month`,
      });
    }
    let out = copyEscape(userId);
    for (let c = 0; c < specs.length; c++) {
      const colSpec = specs[c]!;
      const raw = fields[order[c + 1]!]!;
      const converted =
        record.mayHoldNul && raw.includes("\0")
          ? NUL_PROBLEM
          : convertCell(colSpec, raw);
      if (typeof converted === "string") {
        out += "\t" + converted;
      } else {
        issue({
          line: lineOf(c + 1),
          column: colSpec.name,
          value: raw,
          rule: converted.rule,
          message: converted.message,
        });
      }
    }
    pending.push(out);
    if (pending.length === CHUNK_LINES) {
      const chunk = pending.join("\n") + "\n";
      ctx.hash.update(chunk);
      ready.push(chunk);
      pending = [];
    }
    return true;
  };
  const read =
    spec.format === "parquet"
      ? forEachParquetRecord(path, {
          onRecord,
          afterBuffer: flush,
          onUnreadable: (message) =>
            issue({
              line: 0,
              column: "(file)",
              value: path,
              rule: "parquet",
              message: `is not a readable Parquet file (${message})`,
            }),
        })
      : forEachCsvRecord(
          path,
          { onProblem, afterBuffer: flush, onRecord },
          { maxRecordChars: MAX_RECORD_CHARS },
        );
  try {
    await read;
  } catch (error) {
    // Replaced or made unreadable between the check and the read: a bad month, not a bug.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code !== "string" || !/^E[A-Z]+$/.test(code)) throw error;
    issue({
      line: 0,
      column: "(file)",
      value: path,
      rule: "readable",
      message: `cannot be read (${(error as Error).message})`,
    });
  }
  if (pending.length > 0) {
    const chunk = pending.join("\n") + "\n";
    ctx.hash.update(chunk);
    ready.push(chunk);
  }
  await flush();
  if (order === undefined && ctx.issues.length === 0) {
    issue({
      line: 1,
      column: "(header)",
      value: "",
      rule: "header_columns",
      message: `file is empty; the header must name ${columns.join(", ")}`,
    });
  } else if (order !== undefined && rows === 0 && ctx.issues.length === 0) {
    issue({
      line: 2,
      column: "(line)",
      value: "",
      rule: "rows_required",
      message: "has a header but no data rows",
    });
  }
  ctx.onProgress?.({ phase: `validate ${fileName}`, done: total, total });
  return { file: { name, columns, rows, copyChunks: chunks }, users };
}

/**
 * Reads and validates the source files of a month directory, as `layout`'s repository declares them. With `load`, each file's rows stream to
 * it while they are validated (the caller loads them inside a transaction it rolls back if this
 * throws); without, they are returned in memory.
 *
 * @throws FeaturesError INPUT_NOT_FOUND when the directory is missing, INPUT_INVALID listing every broken rule (first 50).
 */
export async function readMonthDirectory(
  dir: string,
  layout: StoreLayout,
  options: ReadMonthOptions = {},
): Promise<ValidatedMonth> {
  await checkMonthDirectory(dir, layout);
  const ctx: FileContext = {
    layout,
    issues: [],
    knownUsers: undefined,
    hash: createHash("sha256"),
    onProgress: options.onProgress,
  };
  const files: ValidatedFile[] = [];
  // Loads run behind validation: while the database loads one file, the next one is read.
  const loads: Promise<void>[] = [];
  let readError: { error: unknown } | undefined;
  // The first statement that fails is the cause; every later one only says "current transaction is aborted".
  let firstLoadError: { error: unknown } | undefined;
  try {
    for (const spec of layout.sources) {
      const target: MonthFile = {
        name: spec.name,
        columns: [layout.entity.joinKey, ...spec.columns.map((c) => c.name)],
      };
      let result: { file: ValidatedFile; users: Set<string> };
      if (options.load === undefined) {
        result = await validateFile(dir, spec, {
          ...ctx,
          emit: undefined,
        });
      } else {
        const queue = new ChunkQueue();
        const loading = options.load(target, queue);
        loads.push(loading);
        loading.catch((error: unknown) => {
          firstLoadError ??= { error };
          queue.fail(error);
        });
        try {
          result = await validateFile(dir, spec, {
            ...ctx,
            emit: (chunk) => queue.push(chunk),
          });
        } finally {
          queue.end();
        }
      }
      if (spec.entityTable) ctx.knownUsers = result.users;
      files.push(result.file);
    }
  } catch (error) {
    readError = { error };
  }
  // Settle every load before returning or throwing: the caller's transaction outlives none of them.
  const loadErrors = (await Promise.allSettled(loads)).flatMap((r) =>
    r.status === "rejected" ? [r.reason as unknown] : [],
  );
  if (readError !== undefined && !loadErrors.includes(readError.error))
    throw readError.error;
  if (ctx.issues.length === 0 && firstLoadError !== undefined)
    throw firstLoadError.error;
  if (ctx.issues.length > 0) {
    const first = ctx.issues[0]!;
    const more =
      ctx.issues.length >= MAX_ISSUES
        ? `${MAX_ISSUES}+`
        : String(ctx.issues.length);
    throw new FeaturesError(
      "INPUT_INVALID",
      `${first.file} line ${first.line}, column ${first.column}: value ${quote(first.value)} ${first.message} [rule ${first.rule}]` +
        (ctx.issues.length > 1
          ? ` (and ${ctx.issues.length - 1} more; ${more} problems in all)`
          : ""),
      {
        hint: "Nothing was written. Fix the file(s) and ingest again; --json lists every problem.",
        details: { errors: ctx.issues },
      },
    );
  }
  return { files, contentSha256: ctx.hash.digest("hex") };
}

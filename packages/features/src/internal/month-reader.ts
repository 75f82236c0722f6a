import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { ProgressListener } from "@streamflow/core";
import { FeaturesError } from "../errors.ts";
import { SOURCE_FILES, type ColumnSpec, type SourceFileName } from "../schema.ts";

/** One broken rule in one CSV cell (or header); line numbers are 1-based and count the header. */
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
  | "date";

/** A CSV's destination: its name and the table's column order (user_id, then the spec's columns). */
export interface MonthFile {
  name: SourceFileName;
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
export type LoadFile = (file: MonthFile, chunks: AsyncIterable<string>) => Promise<void>;

export interface ReadMonthOptions {
  onProgress?: ProgressListener | undefined;
  load?: LoadFile | undefined;
}

export interface ValidatedMonth {
  files: ValidatedFile[];
  /** sha256 over the normalised content of all six files: equal for equal data, whatever the CSV's column order, line ends or number spelling. */
  contentSha256: string;
}

const MAX_ISSUES = 50;
const CHUNK_LINES = 16_384;
const INT32_MAX = 2_147_483_647;
const INTEGER_RE = /^[+-]?\d+$/;
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isCalendarDate(text: string): boolean {
  const m = DATE_RE.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

function copyEscape(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
    : text;
}

function quote(value: string): string {
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return `'${shown}'`;
}

/** Converts one cell to COPY text, or returns the rule it breaks. */
function convertCell(spec: ColumnSpec, raw: string): string | { rule: ValidationRule; message: string } {
  if (raw === "") {
    return spec.nullable
      ? "\\N"
      : { rule: "not_null", message: `must not be empty (${spec.type} column without NULLs)` };
  }
  switch (spec.type) {
    case "boolean": {
      const lower = raw.toLowerCase();
      if (lower === "true") return "t";
      if (lower === "false") return "f";
      return { rule: "boolean", message: "must be True or False" + (spec.nullable ? " or empty" : "") };
    }
    case "integer": {
      if (!INTEGER_RE.test(raw)) return { rule: "integer", message: "must be a whole number" };
      const n = Number(raw);
      if (Math.abs(n) > INT32_MAX) return { rule: "integer", message: "must fit a 32-bit integer" };
      if (spec.nonNegative && n < 0) return { rule: "non_negative", message: "must be >= 0" };
      return String(n);
    }
    case "double": {
      if (!NUMBER_RE.test(raw)) return { rule: "number", message: "must be a decimal number" };
      const n = Number(raw);
      if (!Number.isFinite(n)) return { rule: "number", message: "must be a finite number" };
      if (spec.nonNegative && n < 0) return { rule: "non_negative", message: "must be >= 0" };
      // The shortest round-trip spelling: float8 stores the very same double, and equal data hashes equal.
      return String(n);
    }
    case "date":
      return isCalendarDate(raw)
        ? raw
        : { rule: "date", message: "must be a calendar date YYYY-MM-DD" };
    case "text":
      return copyEscape(raw);
  }
}

/**
 * Calls `onLine` for every line of a file (LF or CRLF, BOM dropped), synchronously within each
 * read chunk: an async iterator per line costs more than the validation itself.
 */
async function forEachLine(path: string, onLine: (line: string) => boolean, afterBuffer: () => Promise<void>): Promise<void> {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  let first = true;
  let stopped = false;
  const emit = (line: string) => {
    if (!stopped && !onLine(line)) stopped = true;
  };
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  for await (const buffer of stream) {
    let text = rest + decoder.write(buffer as Buffer);
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    let start = 0;
    for (let nl = text.indexOf("\n", start); nl !== -1 && !stopped; nl = text.indexOf("\n", start)) {
      emit(text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
    await afterBuffer();
    if (stopped) {
      stream.destroy();
      return;
    }
  }
  rest += decoder.end();
  if (first && rest.charCodeAt(0) === 0xfeff) rest = rest.slice(1);
  if (rest.endsWith("\r")) rest = rest.slice(0, -1);
  if (rest !== "") emit(rest);
}

interface FileContext {
  issues: ValidationIssue[];
  knownUsers: Set<string> | undefined;
  hash: ReturnType<typeof createHash>;
  onProgress: ProgressListener | undefined;
}

async function validateFile(
  dir: string,
  name: SourceFileName,
  ctx: FileContext & { emit: ((chunk: string) => Promise<void>) | undefined },
): Promise<{ file: ValidatedFile; users: Set<string> }> {
  const spec = SOURCE_FILES.find((f) => f.name === name)!;
  const fileName = `${name}.csv`;
  const path = join(dir, fileName);
  const columns = ["user_id", ...spec.columns.map((c) => c.name)];
  const issue = (found: Omit<ValidationIssue, "file">) => {
    if (ctx.issues.length < MAX_ISSUES) ctx.issues.push({ file: fileName, ...found });
  };

  // checkMonthDirectory has established that the file exists; the size drives progress.
  const total = (await stat(path)).size;

  const users = new Set<string>();
  const chunks: string[] = [];
  let ready: string[] = [];
  let pending: string[] = [];
  let lineNo = 0;
  let rows = 0;
  let bytes = 0;
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

  await forEachLine(path, (line) => {
    lineNo++;
    bytes += line.length + 1;
    if (lineNo % 65_536 === 0) ctx.onProgress?.({ phase: `validate ${fileName}`, done: bytes, total });
    if (ctx.issues.length >= MAX_ISSUES) return false;
    if (order === undefined) {
      const header = line.split(",").map((h) => h.trim());
      const missing = columns.filter((c) => !header.includes(c));
      const extra = header.filter((h, i) => !columns.includes(h) || header.indexOf(h) !== i);
      if (missing.length > 0 || extra.length > 0) {
        const parts = [
          missing.length > 0 ? `missing ${missing.join(", ")}` : "",
          extra.length > 0 ? `unexpected or repeated ${extra.join(", ")}` : "",
        ].filter(Boolean);
        issue({ line: 1, column: "(header)", value: line, rule: "header_columns", message: `header must name exactly ${columns.join(", ")}: ${parts.join("; ")}` });
        return false;
      }
      order = columns.map((c) => header.indexOf(c));
      specs = spec.columns as ColumnSpec[];
      return true;
    }
    if (line === "") {
      blankRun++;
      return true;
    }
    if (blankRun > 0) {
      issue({ line: lineNo - blankRun, column: "(line)", value: "", rule: "empty_line", message: "empty line inside the data" });
      blankRun = 0;
    }
    const fields = line.split(",");
    if (fields.length !== columns.length) {
      issue({ line: lineNo, column: "(line)", value: line, rule: "field_count", message: `has ${fields.length} fields, the header has ${columns.length} (fields must not contain commas)` });
      return true;
    }
    rows++;
    const userId = fields[order[0]!]!;
    if (userId.trim() === "") {
      issue({ line: lineNo, column: "user_id", value: userId, rule: "user_id_required", message: "must not be empty" });
      return true;
    }
    if (users.has(userId)) {
      issue({ line: lineNo, column: "user_id", value: userId, rule: "user_id_unique", message: "appears more than once in the file" });
      return true;
    }
    users.add(userId);
    if (ctx.knownUsers !== undefined && !ctx.knownUsers.has(userId)) {
      issue({ line: lineNo, column: "user_id", value: userId, rule: "user_exists", message: "is not in users.csv of this month" });
    }
    let out = copyEscape(userId);
    for (let c = 0; c < specs.length; c++) {
      const colSpec = specs[c]!;
      const raw = fields[order[c + 1]!]!;
      const converted = convertCell(colSpec, raw);
      if (typeof converted === "string") {
        out += "\t" + converted;
      } else {
        issue({ line: lineNo, column: colSpec.name, value: raw, rule: converted.rule, message: converted.message });
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
  }, flush);
  if (pending.length > 0) {
    const chunk = pending.join("\n") + "\n";
    ctx.hash.update(chunk);
    ready.push(chunk);
  }
  await flush();
  if (order === undefined && ctx.issues.length === 0) {
    issue({ line: 1, column: "(header)", value: "", rule: "header_columns", message: `file is empty; the header must name ${columns.join(", ")}` });
  } else if (order !== undefined && rows === 0 && ctx.issues.length === 0) {
    issue({ line: 2, column: "(line)", value: "", rule: "rows_required", message: "has a header but no data rows" });
  }
  ctx.onProgress?.({ phase: `validate ${fileName}`, done: total, total });
  return { file: { name, columns, rows, copyChunks: chunks }, users };
}

/**
 * Reads and validates the six CSVs of a month directory. With `load`, each file's rows stream to
 * it while they are validated (the caller loads them inside a transaction it rolls back if this
 * throws); without, they are returned in memory.
 *
 * @throws FeaturesError INPUT_NOT_FOUND when a file is missing, INPUT_INVALID listing every broken rule (first 50).
 */
export async function readMonthDirectory(dir: string, options: ReadMonthOptions = {}): Promise<ValidatedMonth> {
  await checkMonthDirectory(dir);
  const ctx: FileContext = { issues: [], knownUsers: undefined, hash: createHash("sha256"), onProgress: options.onProgress };
  const files: ValidatedFile[] = [];
  // Loads run behind validation: while the database loads one file, the next one is read.
  const loads: Promise<void>[] = [];
  let readError: { error: unknown } | undefined;
  try {
    for (const spec of SOURCE_FILES) {
      const target: MonthFile = { name: spec.name, columns: ["user_id", ...spec.columns.map((c) => c.name)] };
      let result: { file: ValidatedFile; users: Set<string> };
      if (options.load === undefined) {
        result = await validateFile(dir, spec.name, { ...ctx, emit: undefined });
      } else {
        const queue = new ChunkQueue();
        const loading = options.load(target, queue);
        loads.push(loading);
        loading.catch((error: unknown) => queue.fail(error));
        try {
          result = await validateFile(dir, spec.name, { ...ctx, emit: (chunk) => queue.push(chunk) });
        } finally {
          queue.end();
        }
      }
      if (spec.name === "users") ctx.knownUsers = result.users;
      files.push(result.file);
    }
  } catch (error) {
    readError = { error };
  }
  // Settle every load before returning or throwing: the caller's transaction outlives none of them.
  const failed = (await Promise.allSettled(loads)).find((r) => r.status === "rejected");
  if (readError !== undefined) throw readError.error;
  if (failed && ctx.issues.length === 0) throw failed.reason;
  if (ctx.issues.length > 0) {
    const first = ctx.issues[0]!;
    const more = ctx.issues.length >= MAX_ISSUES ? `${MAX_ISSUES}+` : String(ctx.issues.length);
    throw new FeaturesError(
      "INPUT_INVALID",
      `${first.file} line ${first.line}, column ${first.column}: value ${quote(first.value)} ${first.message} [rule ${first.rule}]` +
        (ctx.issues.length > 1 ? ` (and ${ctx.issues.length - 1} more; ${more} problems in all)` : ""),
      {
        hint: "Nothing was written. Fix the file(s) and ingest again; --json lists every problem.",
        details: { errors: ctx.issues },
      },
    );
  }
  return { files, contentSha256: ctx.hash.digest("hex") };
}

/**
 * Checks that the directory and its six files exist, before anything is read or loaded.
 *
 * @throws FeaturesError INPUT_NOT_FOUND.
 */
export async function checkMonthDirectory(dir: string): Promise<void> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error("not a directory");
  } catch {
    throw new FeaturesError("INPUT_NOT_FOUND", `month directory '${dir}' does not exist or is not a directory`, {
      hint: "Pass the directory that holds the six CSVs of one month, e.g. --month-dir data/month_000.",
      details: { dir },
    });
  }
  for (const spec of SOURCE_FILES) {
    const path = join(dir, `${spec.name}.csv`);
    const found = await stat(path).then((st) => st.isFile(), () => false);
    if (!found) {
      throw new FeaturesError("INPUT_NOT_FOUND", `${spec.name}.csv is missing in ${dir}`, {
        hint: "A month directory holds users.csv, subscriptions.csv, usage_agg_30d.csv, payments_agg_90d.csv, support_agg_90d.csv and labels.csv.",
        details: { file: path },
      });
    }
  }
}

/** A bounded hand-off between the CSV reader and the database loader, with backpressure both ways. */
class ChunkQueue implements AsyncIterable<string> {
  readonly #items: string[] = [];
  // ~16k rows a chunk: up to ~32 MB waits here while the database is busy with the previous file.
  readonly #limit = 32;
  #ended = false;
  #error: unknown;
  #failed = false;
  #wakeConsumer: (() => void) | undefined;
  #wakeProducer: (() => void) | undefined;

  async push(chunk: string): Promise<void> {
    if (this.#failed) throw this.#error;
    this.#items.push(chunk);
    this.#wake("consumer");
    while (this.#items.length >= this.#limit && !this.#failed) {
      await new Promise<void>((resolve) => (this.#wakeProducer = resolve));
    }
    if (this.#failed) throw this.#error;
  }

  end(): void {
    this.#ended = true;
    this.#wake("consumer");
  }

  fail(error: unknown): void {
    this.#failed = true;
    this.#error = error;
    this.#wake("producer");
  }

  #wake(who: "consumer" | "producer"): void {
    const wake = who === "consumer" ? this.#wakeConsumer : this.#wakeProducer;
    if (who === "consumer") this.#wakeConsumer = undefined;
    else this.#wakeProducer = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      const next = this.#items.shift();
      if (next !== undefined) {
        this.#wake("producer");
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wakeConsumer = resolve));
    }
  }
}

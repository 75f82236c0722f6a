import { isUtf8 } from "node:buffer";
import { createReadStream } from "node:fs";

/**
 * RFC 4180 records of a CSV file, decoded as strict UTF-8. Lines without a quote character (all of
 * the lab's, and most machine exports) take a fast path: one `split(",")`. A line holding a quote
 * is parsed character by character, and a quoted field may run over line breaks, which it keeps.
 */

/** One record; reused between calls, so copy what must outlive the callback. */
export interface CsvRecord {
  fields: string[];
  /** Physical line (1-based) where the record starts. */
  line: number;
  /** Physical line of each field when the record spans several lines; undefined when it is one line. */
  fieldLines: number[] | undefined;
  /** The record's text without its line break, for messages about the whole line. */
  text: string;
  /** False when the read buffer holding the record has no NUL character: fields need no NUL check. */
  mayHoldNul: boolean;
}

/** Something that stops the reading of a file: the rest of it cannot be split into records reliably. */
export interface CsvProblem {
  line: number;
  /** 0-based index of the field the problem is in. */
  field: number;
  /** The field's text up to the problem. */
  value: string;
  rule: "utf8" | "csv_quote" | "max_length";
  message: string;
}

export interface CsvHandlers {
  /** Returns false to stop reading. */
  onRecord(record: CsvRecord): boolean;
  onProblem(problem: CsvProblem): void;
  /** Awaited after each read buffer (backpressure for whoever consumes the records). */
  afterBuffer(): Promise<void>;
}

export interface CsvReadOptions {
  /** A record longer than this is refused (bounds memory for an unclosed quote or a huge field). */
  maxRecordChars: number;
}

const QUOTE = 34; // "
const COMMA = 44;
const LF = 10;
const CR = 13;

type Parsed =
  /** `newlines`: line breaks inside the record's quoted fields; `end`: just after its line break. */
  | {
      kind: "record";
      end: number;
      textEnd: number;
      newlines: number;
      fields: string[];
      fieldLines: number[];
    }
  | { kind: "incomplete"; field: number; newlines: number; value: string }
  | {
      kind: "problem";
      field: number;
      newlines: number;
      value: string;
      message: string;
    };

/**
 * Parses one record starting at `start` character by character. `final` says the text ends the
 * file (a record may then end without a line break).
 */
function parseRecord(text: string, start: number, final: boolean): Parsed {
  const fields: string[] = [];
  const fieldLines: number[] = [];
  let i = start;
  let newlines = 0;
  for (;;) {
    fieldLines.push(newlines);
    if (text.charCodeAt(i) === QUOTE) {
      const fieldStart = newlines;
      let value = "";
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q === -1) {
          value += text.slice(from);
          newlines += countNewlines(text, from, text.length);
          if (!final)
            return {
              kind: "incomplete",
              field: fields.length,
              newlines,
              value,
            };
          return {
            kind: "problem",
            field: fields.length,
            newlines: fieldStart,
            value,
            message: "has an opening quote that is never closed",
          };
        }
        value += text.slice(from, q);
        newlines += countNewlines(text, from, q);
        if (text.charCodeAt(q + 1) === QUOTE) {
          value += '"';
          from = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      const next = text.charCodeAt(i);
      if (next === COMMA) {
        i++;
        continue;
      }
      if (next === LF)
        return {
          kind: "record",
          end: i + 1,
          textEnd: i,
          newlines,
          fields,
          fieldLines,
        };
      if (next === CR && text.charCodeAt(i + 1) === LF)
        return {
          kind: "record",
          end: i + 2,
          textEnd: i,
          newlines,
          fields,
          fieldLines,
        };
      if (i >= text.length || (next === CR && i + 1 >= text.length)) {
        if (final)
          return {
            kind: "record",
            end: text.length,
            textEnd: i,
            newlines,
            fields,
            fieldLines,
          };
        return {
          kind: "incomplete",
          field: fields.length - 1,
          newlines,
          value,
        };
      }
      return {
        kind: "problem",
        field: fields.length - 1,
        newlines,
        value: value + text.charAt(i),
        message:
          "has a closing quote followed by more text; a quoted field ends at a comma or the end of the line",
      };
    }
    // Unquoted field: up to the next comma or line end, and no quote inside.
    let end = i;
    let code = text.charCodeAt(end);
    while (end < text.length && code !== COMMA && code !== LF) {
      if (code === QUOTE) {
        return {
          kind: "problem",
          field: fields.length,
          newlines,
          value: text.slice(i, end + 1),
          message:
            'has a quote inside an unquoted field; quote the whole field and double the quote ("")',
        };
      }
      code = text.charCodeAt(++end);
    }
    if (end >= text.length && !final)
      return {
        kind: "incomplete",
        field: fields.length,
        newlines,
        value: text.slice(i),
      };
    if (code === COMMA) {
      fields.push(text.slice(i, end));
      i = end + 1;
      continue;
    }
    // A line break, or the end of the file: a CR before either belongs to the line end.
    const textEnd = end > i && text.charCodeAt(end - 1) === CR ? end - 1 : end;
    fields.push(text.slice(i, textEnd));
    return {
      kind: "record",
      end: end >= text.length ? end : end + 1,
      textEnd,
      newlines,
      fields,
      fieldLines,
    };
  }
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (
    let nl = text.indexOf("\n", from);
    nl !== -1 && nl < to;
    nl = text.indexOf("\n", nl + 1)
  )
    n++;
  return n;
}

/** Byte offset of the first ill-formed UTF-8 sequence (Unicode Table 3-7), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i; // truncated at the end
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Bytes at the end of `buf` that start a multi-byte sequence the next buffer completes. */
function incompleteTail(buf: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const b = buf[buf.length - back]!;
    if (b < 0x80) return 0;
    if (b >= 0xc0) {
      const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return len > back ? back : 0;
    }
  }
  return 0;
}

/**
 * Calls `onRecord` for every record of a file (LF or CRLF, BOM dropped), synchronously within each
 * read buffer: an async iterator per record costs more than the validation itself. Stops at the
 * first problem, which `onProblem` receives.
 */
export async function forEachCsvRecord(
  path: string,
  handlers: CsvHandlers,
  options: CsvReadOptions,
): Promise<void> {
  const record: CsvRecord = {
    fields: [],
    line: 0,
    fieldLines: undefined,
    text: "",
    mayHoldNul: false,
  };
  let line = 1; // physical line at the start of `rest`
  let rest = "";
  let carry: Buffer | undefined;
  let first = true;
  let stopped = false;

  const problem = (
    p: Omit<CsvProblem, "rule"> & { rule?: CsvProblem["rule"] },
  ) => {
    handlers.onProblem({ rule: "csv_quote", ...p });
    stopped = true;
  };

  /** Splits `text` into records; returns where the unfinished tail starts. */
  const consume = (text: string, final: boolean): number => {
    const mayHoldNul = text.includes("\0");
    let pos = 0;
    let quoteAt = -2; // next quote at or after pos; -1 none; -2 not yet looked up
    while (!stopped && pos < text.length) {
      const nl = text.indexOf("\n", pos);
      if (quoteAt !== -1 && quoteAt < pos) quoteAt = text.indexOf('"', pos);
      const lineEnd = nl === -1 ? text.length : nl;
      if (quoteAt === -1 || quoteAt > lineEnd) {
        if (lineEnd - pos > options.maxRecordChars) {
          const commas = text
            .slice(pos, pos + options.maxRecordChars)
            .split(",");
          problem({
            rule: "max_length",
            line,
            field: commas.length - 1,
            value: commas[commas.length - 1]!,
            message: `makes the line longer than ${options.maxRecordChars} characters`,
          });
          break;
        }
        if (nl === -1 && !final) break;
        const body =
          lineEnd > pos && text.charCodeAt(lineEnd - 1) === CR
            ? text.slice(pos, lineEnd - 1)
            : text.slice(pos, lineEnd);
        record.fields = body.split(",");
        record.line = line;
        record.fieldLines = undefined;
        record.text = body;
        record.mayHoldNul = mayHoldNul;
        if (!handlers.onRecord(record)) stopped = true;
        line++;
        pos = nl === -1 ? text.length : nl + 1;
        continue;
      }
      const parsed = parseRecord(text, pos, final);
      if (parsed.kind === "problem") {
        problem({
          line: line + parsed.newlines,
          field: parsed.field,
          value: parsed.value,
          message: parsed.message,
        });
        break;
      }
      if (parsed.kind === "incomplete") {
        if (text.length - pos > options.maxRecordChars) {
          problem({
            rule: "max_length",
            line: line + parsed.newlines,
            field: parsed.field,
            value: parsed.value,
            message: `makes the record longer than ${options.maxRecordChars} characters (an unclosed quote?)`,
          });
        }
        break;
      }
      record.fields = parsed.fields;
      record.line = line;
      record.fieldLines =
        parsed.newlines > 0
          ? parsed.fieldLines.map((n) => line + n)
          : undefined;
      record.text = text.slice(pos, parsed.textEnd);
      record.mayHoldNul = mayHoldNul;
      if (!handlers.onRecord(record)) stopped = true;
      line += parsed.newlines + 1;
      pos = parsed.end;
    }
    return pos;
  };

  /** Reports invalid UTF-8 at the end of the valid `text` that precedes it. */
  const invalidUtf8 = (text: string) => {
    const tail = text.slice(consume(text, false));
    if (stopped) return;
    const parsed = tail === "" ? undefined : parseRecord(tail, 0, false);
    const field =
      parsed === undefined || parsed.kind === "record" ? 0 : parsed.field;
    const value =
      parsed === undefined || parsed.kind === "record" ? "" : parsed.value;
    problem({
      rule: "utf8",
      line: line + (parsed?.newlines ?? 0),
      field,
      value: value + "\uFFFD",
      message: "is not valid UTF-8 (save the file as UTF-8)",
    });
  };

  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) {
      let bytes = chunk as Buffer;
      if (carry !== undefined) bytes = Buffer.concat([carry, bytes]);
      const keep = incompleteTail(bytes);
      carry = keep > 0 ? bytes.subarray(bytes.length - keep) : undefined;
      const whole = keep > 0 ? bytes.subarray(0, bytes.length - keep) : bytes;
      let text: string;
      if (isUtf8(whole)) {
        text = rest + whole.toString("utf8");
      } else {
        const bad = Math.max(0, firstInvalidUtf8(whole));
        invalidUtf8(
          stripBom(rest + whole.subarray(0, bad).toString("utf8"), first),
        );
        return;
      }
      if (first) {
        text = stripBom(text, true);
        first = false;
      }
      rest = text.slice(consume(text, false));
      await handlers.afterBuffer();
      if (stopped) return;
    }
    if (carry !== undefined) {
      invalidUtf8(stripBom(rest, first));
      return;
    }
    const text = stripBom(rest, first);
    if (text !== "") consume(text, true);
  } finally {
    stream.destroy();
  }
}

function stripBom(text: string, first: boolean): string {
  return first && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

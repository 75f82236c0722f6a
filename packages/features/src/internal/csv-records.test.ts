import { isUtf8 } from "node:buffer";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  firstInvalidUtf8,
  forEachCsvRecord,
  type CsvProblem,
} from "./csv-records.ts";

interface Read {
  records: {
    fields: string[];
    line: number;
    fieldLines: number[] | undefined;
    text: string;
  }[];
  problems: CsvProblem[];
}

async function read(
  content: string | Buffer,
  maxRecordChars = 1 << 20,
): Promise<Read> {
  const path = join(await mkdtemp(join(tmpdir(), "sf-csv-")), "f.csv");
  await writeFile(path, content);
  const out: Read = { records: [], problems: [] };
  await forEachCsvRecord(
    path,
    {
      onRecord: (r) => {
        out.records.push({
          fields: [...r.fields],
          line: r.line,
          fieldLines: r.fieldLines && [...r.fieldLines],
          text: r.text,
        });
        return true;
      },
      onProblem: (p) => out.problems.push(p),
      afterBuffer: () => Promise.resolve(),
    },
    { maxRecordChars },
  );
  return out;
}

const fields = (r: Read) => r.records.map((x) => x.fields);

describe("forEachCsvRecord", () => {
  it("reads RFC 4180 quoting: quoted fields, doubled quotes, commas and line breaks inside quotes", async () => {
    const r = await read(
      'a,b,c\n"x","say ""hi""","1,5"\r\n"two\nlines",,"cr\r\nlf"\n"",plain,"last"',
    );
    expect(r.problems).toEqual([]);
    expect(fields(r)).toEqual([
      ["a", "b", "c"],
      ["x", 'say "hi"', "1,5"],
      ["two\nlines", "", "cr\r\nlf"],
      ["", "plain", "last"],
    ]);
    // Physical lines: the third record starts on line 3 and spans 3-5, the fourth is line 6.
    expect(r.records.map((x) => x.line)).toEqual([1, 2, 3, 6]);
    expect(r.records[2]!.fieldLines).toEqual([3, 4, 4]);
    expect(r.records[1]!.text).toBe('"x","say ""hi""","1,5"');
  });

  it("gives a quoted and an unquoted spelling the same fields", async () => {
    const plain = await read(
      "user_id,contract_type\n0001-A,Month-to-month\r\n0002-B,Two year\n",
    );
    const quoted = await read(
      '"user_id","contract_type"\n"0001-A","Month-to-month"\r\n"0002-B","Two year"\n',
    );
    expect(fields(quoted)).toEqual(fields(plain));
    expect(fields(plain)[1]).toEqual(["0001-A", "Month-to-month"]);
  });

  it("keeps counting lines right after quoted line breaks, and points at the field of a bad quote", async () => {
    const r = await read('h1,h2\n"a\nb",1\nok,2\nx,bad"quote\n');
    expect(r.records.map((x) => x.line)).toEqual([1, 2, 4]);
    expect(r.problems).toEqual([
      expect.objectContaining({
        rule: "csv_quote",
        line: 5,
        field: 1,
        value: 'bad"',
      }),
    ]);
  });

  it("refuses text after a closing quote and a quote never closed", async () => {
    expect((await read('h\n"ab"c\n')).problems[0]).toMatchObject({
      rule: "csv_quote",
      line: 2,
      field: 0,
    });
    const open = await read('h1,h2\nv,"never\nclosed\n');
    expect(open.problems[0]).toMatchObject({
      rule: "csv_quote",
      line: 2,
      field: 1,
      message: "has an opening quote that is never closed",
    });
  });

  it("refuses a record over the limit, naming the field that overflows it", async () => {
    const r = await read(`h1,h2\nshort,${"x".repeat(5000)}\n`, 1000);
    expect(r.problems[0]).toMatchObject({
      rule: "max_length",
      line: 2,
      field: 1,
    });
    const q = await read(`h1,h2\n"${"y".repeat(3000)}`, 1000);
    expect(q.problems[0]).toMatchObject({
      rule: "max_length",
      line: 2,
      field: 0,
    });
  });

  it("refuses invalid UTF-8 at its line and field, and accepts a character split across read buffers", async () => {
    const bad = Buffer.concat([
      Buffer.from("h1,h2\nok,fine\nnext,caf"),
      Buffer.from([0xe9]),
      Buffer.from(",x\n"),
    ]);
    expect((await read(bad)).problems).toEqual([
      expect.objectContaining({
        rule: "utf8",
        line: 3,
        field: 1,
        value: "caf\uFFFD",
      }),
    ]);
    // 'é' (2 bytes) straddles the 1 MiB read buffer boundary; a genuine U+FFFD is valid text.
    const pad = "a".repeat((1 << 20) - 1 - "h\n".length);
    const split = await read(`h\n${pad}é\n\uFFFD\n`);
    expect(split.problems).toEqual([]);
    expect(fields(split).slice(1)).toEqual([[`${pad}é`], ["\uFFFD"]]);
    // Invalid bytes past the first buffer, and a file ending in a truncated sequence.
    const late = Buffer.concat([
      Buffer.from(`h\n${"b".repeat(1 << 20)}\nz`),
      Buffer.from([0xc3]),
    ]);
    expect((await read(late)).problems[0]).toMatchObject({
      rule: "utf8",
      line: 3,
      field: 0,
      value: "z\uFFFD",
    });
  });

  it("drops a BOM, accepts CRLF and a missing final line break", async () => {
    const r = await read("\uFEFFa,b\r\n1,2");
    expect(fields(r)).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
  });
});

describe("firstInvalidUtf8", () => {
  it.each([
    ["ascii", [0x61, 0x62], -1],
    ["2-byte", [0x61, 0xc3, 0xa9], -1],
    ["4-byte", [0xf0, 0x9f, 0x98, 0x80], -1],
    ["lone continuation", [0x61, 0x80], 1],
    ["overlong 2-byte", [0xc0, 0xaf], 0],
    ["overlong 3-byte", [0xe0, 0x80, 0xaf], 0],
    ["surrogate", [0xed, 0xa0, 0x80], 0],
    ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80], 0],
    ["latin-1 é", [0x63, 0x61, 0x66, 0xe9, 0x2c], 3],
    ["truncated", [0x61, 0xe2, 0x82], 1],
  ])("%s", (_name, bytes, expected) => {
    const buf = Uint8Array.from(bytes);
    expect(firstInvalidUtf8(buf)).toBe(expected);
    expect(isUtf8(buf)).toBe(expected === -1);
  });
});

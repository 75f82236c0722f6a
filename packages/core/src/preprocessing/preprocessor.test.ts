import { describe, expect, it } from "vitest";
import { CoreError } from "../errors.ts";
import { featureSchemaFromColumns, rowsFromColumns } from "./columns.ts";
import {
  Preprocessor,
  toLabFeatureSchema,
  type FeatureRow,
  type FeatureSchema,
} from "./preprocessor.ts";

const schema: FeatureSchema = {
  categorical_cols: ["net_service"],
  numeric_cols: ["months_active", "monthly_fee"],
  boolean_cols: ["paperless_billing", "plan_stream_tv"],
};

const train: FeatureRow[] = [
  {
    net_service: "DSL",
    months_active: 1,
    monthly_fee: 29.85,
    paperless_billing: true,
    plan_stream_tv: false,
  },
  {
    net_service: "Fiber optic",
    months_active: 34,
    monthly_fee: 56.95,
    paperless_billing: false,
    plan_stream_tv: true,
  },
  // A net_service = No user: plan_stream_* is NULL, a legitimate value (lab notes §2).
  {
    net_service: "No",
    months_active: 16,
    monthly_fee: 18.95,
    paperless_billing: false,
    plan_stream_tv: null,
  },
  {
    net_service: "DSL",
    months_active: null,
    monthly_fee: 42.3,
    paperless_billing: true,
    plan_stream_tv: false,
  },
];

describe("Preprocessor", () => {
  const pre = Preprocessor.fit({ schema, rows: train });

  it("names one-hot, numeric and NULL-indicator columns in a fixed order", () => {
    expect(pre.columnNames).toEqual([
      "net_service=DSL",
      "net_service=Fiber optic",
      "net_service=No",
      "months_active",
      "monthly_fee",
      "paperless_billing",
      "plan_stream_tv",
      "plan_stream_tv=null",
    ]);
  });

  it("gives NULL booleans their own column and imputes NULL numerics with the training median", () => {
    // Median of months_active over 1, 34, 16 is 16.
    expect(Array.from(pre.transformRow(train[2] as FeatureRow))).toEqual([
      0, 0, 1, 16, 18.95, 0, 0, 1,
    ]);
    expect(Array.from(pre.transformRow(train[3] as FeatureRow))).toEqual([
      1, 0, 0, 16, 42.3, 1, 0, 0,
    ]);
  });

  it("encodes an unseen category as all zeros and an unseen NULL boolean as false", () => {
    const row = {
      net_service: "Satellite",
      months_active: 5,
      monthly_fee: 70,
      paperless_billing: null,
      plan_stream_tv: true,
    };
    expect(Array.from(pre.transformRow(row))).toEqual([
      0, 0, 0, 5, 70, 0, 1, 0,
    ]);
  });

  it("accepts store-style text values and refuses wrong types with the row and column", () => {
    const row = {
      net_service: "DSL",
      months_active: "12",
      monthly_fee: "20.5",
      paperless_billing: "t",
      plan_stream_tv: "False",
    };
    expect(Array.from(pre.transformRow(row))).toEqual([
      1, 0, 0, 12, 20.5, 1, 0, 0,
    ]);
    expect(() => pre.transformRow({ ...row, monthly_fee: "abc" })).toThrow(
      /'monthly_fee' should be a number, got 'abc'/,
    );
    expect(() => pre.transform([row, { ...row, monthly_fee: "abc" }])).toThrow(
      /'monthly_fee' of row 1/,
    );
    expect(() => pre.transformRow({ ...row, plan_stream_tv: 3 })).toThrow(
      CoreError,
    );
    const missing: Record<string, string> = { ...row };
    delete missing["monthly_fee"];
    expect(() => pre.transformRow(missing)).toThrow(
      expect.objectContaining({ code: "DATA_INVALID" }) as CoreError,
    );
  });

  it("survives a JSON round trip and exports the lab's feature_schema.json", () => {
    const loaded = Preprocessor.load(JSON.parse(JSON.stringify(pre.toJSON())));
    expect(Array.from(loaded.transform(train).data)).toEqual(
      Array.from(pre.transform(train).data),
    );
    expect(toLabFeatureSchema(schema)).toEqual({
      categorical_cols: ["net_service"],
      numeric_cols: [
        "months_active",
        "monthly_fee",
        "paperless_billing",
        "plan_stream_tv",
      ],
    });
    expect(() => Preprocessor.load({ schema })).toThrow(
      expect.objectContaining({ code: "MODEL_FORMAT_INVALID" }) as CoreError,
    );
  });

  it("builds the schema and rows from a columnar dataset", () => {
    const cols = [
      { name: "net_service", type: "text" as const },
      { name: "months_active", type: "integer" as const },
      { name: "monthly_fee", type: "double" as const },
      { name: "paperless_billing", type: "boolean" as const },
      { name: "plan_stream_tv", type: "boolean" as const },
    ];
    expect(featureSchemaFromColumns(cols)).toEqual(schema);
    expect(() =>
      featureSchemaFromColumns([{ name: "signup_date", type: "date" }]),
    ).toThrow(CoreError);
    // A repository may declare an integer code categorical; the type decides the rest.
    expect(
      featureSchemaFromColumns(cols, { categorical: ["months_active"] }),
    ).toEqual({
      categorical_cols: ["net_service", "months_active"],
      numeric_cols: ["monthly_fee"],
      boolean_cols: ["paperless_billing", "plan_stream_tv"],
    });
    expect(() =>
      featureSchemaFromColumns(cols, { categorical: ["nope"] }),
    ).toThrow(/'nope' is to be categorical but is not one of the columns/);
    const rows = rowsFromColumns({
      names: ["a", "b"],
      columns: [
        [1, 2],
        [null, "x"],
      ],
    });
    expect(rows).toEqual([
      { a: 1, b: null },
      { a: 2, b: "x" },
    ]);
  });
});

import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import pl from "nodejs-polars";
import { openPredictionsFile } from "@streamflow/features";
import { parseCalendarDay } from "@streamflow/core";

const model = { name: "churn", version: "3", runId: "r1" };
const scoredAt = new Date("2024-03-01T08:00:00.000Z");
// Doubles whose shortest decimal is long: a lossy writer would change them.
const pChurn = Float64Array.from([0.1 + 0.2, 1 / 3, 0, 1, 0.5000000000000001]);
const userIds = ["a", "b,quoted", 'c"q', "d", "e"];
const labels = Uint8Array.from(pChurn, (p) => (p > 0.5 ? 1 : 0));

describe("openPredictionsFile", () => {
  it.each(["csv", "parquet"] as const)(
    "writes the table's columns to %s, p_churn bit for bit, only on commit",
    async (format) => {
      const dir = await mkdtemp(join(tmpdir(), "sf-pred-file-"));
      const out = join(dir, `scores.${format}`);
      const file = await openPredictionsFile({
        out,
        asOf: parseCalendarDay("2024-02-29"),
        model,
        threshold: 0.5,
        scoredAt,
      });
      await file.append({
        userIds: userIds.slice(0, 2),
        pChurn: pChurn.subarray(0, 2),
        labels: labels.subarray(0, 2),
      });
      await file.append({
        userIds: userIds.slice(2),
        pChurn: pChurn.subarray(2),
        labels: labels.subarray(2),
      });
      expect(await readdir(dir)).not.toContain(`scores.${format}`);
      await file.commit();
      await file.discard();
      expect(await readdir(dir)).toEqual([`scores.${format}`]);
      const df =
        format === "parquet"
          ? pl.readParquet(out)
          : pl.readCSV(await readFile(out, "utf8"), { inferSchemaLength: 0 });
      expect(df.columns).toEqual([
        "user_id",
        "as_of",
        "model_name",
        "model_version",
        "p_churn",
        "label",
        "threshold",
        "run_id",
        "scored_at",
      ]);
      const rows = df.toRecords();
      expect(rows.map((r) => r["user_id"])).toEqual(userIds);
      expect(rows.map((r) => Number(r["p_churn"]))).toEqual(Array.from(pChurn));
      expect(rows.map((r) => Number(r["label"]))).toEqual(Array.from(labels));
      expect(rows[0]).toMatchObject({
        as_of: "2024-02-29",
        model_name: "churn",
        model_version: "3",
        run_id: "r1",
        scored_at: "2024-03-01T08:00:00.000Z",
      });
    },
  );

  it("refuses another extension before writing anything", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sf-pred-file-"));
    await expect(
      openPredictionsFile({
        out: join(dir, "scores.json"),
        asOf: parseCalendarDay("2024-02-29"),
        model,
        threshold: 0.5,
        scoredAt,
      }),
    ).rejects.toMatchObject({ code: "OUTPUT_INVALID" });
    expect(await readdir(dir)).toEqual([]);
  });
});

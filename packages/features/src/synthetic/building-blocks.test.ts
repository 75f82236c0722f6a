import { describe, expect, it } from "vitest";
import { cumulativeThresholds, Sfc32, streamKeys } from "./prng.ts";
import { formatCents, formatDeci, formatFloat } from "./rows.ts";
import { USER_ID_SPACE, UserIdMapper } from "./user-ids.ts";

function mapper(seed: number): UserIdMapper {
  return new UserIdMapper(
    new Uint32Array([...streamKeys(seed, 1), ...streamKeys(seed, 2)]),
  );
}

describe("Sfc32", () => {
  it("replays a stream exactly and separates users and seeds", () => {
    const draw = (seed: number, index: number) => {
      const rng = new Sfc32();
      rng.reseed(streamKeys(seed, 0), index);
      return Array.from({ length: 8 }, () => rng.nextU32());
    };
    expect(draw(42, 7)).toEqual(draw(42, 7));
    expect(draw(42, 7)).not.toEqual(draw(42, 8));
    expect(draw(42, 7)).not.toEqual(draw(43, 7));
    // The high 32 bits of a seed count too.
    expect(draw(1, 7)).not.toEqual(draw(2 ** 32 + 1, 7));
  });

  it("draws uniforms, integers and approximate normals with the right moments", () => {
    const rng = new Sfc32();
    rng.reseed(streamKeys(1, 0), 0);
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    let min = Infinity;
    let max = -Infinity;
    const ints = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const z = rng.nextNormal();
      sum += z;
      sumSq += z * z;
      min = Math.min(min, z);
      max = Math.max(max, z);
      ints[rng.nextInt(3)]! += 1;
      const u = rng.nextFloat();
      if (!(u >= 0 && u < 1)) throw new Error(`uniform out of [0, 1): ${u}`);
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.02);
    expect(min).toBeGreaterThanOrEqual(-3 * Math.SQRT2);
    expect(max).toBeLessThanOrEqual(3 * Math.SQRT2);
    for (const c of ints) expect(Math.abs(c / n - 1 / 3)).toBeLessThan(0.01);
  });

  it("picks from cumulative weights in proportion", () => {
    const table = cumulativeThresholds([1, 0, 3]);
    const rng = new Sfc32();
    rng.reseed(streamKeys(5, 0), 0);
    const counts = [0, 0, 0];
    for (let i = 0; i < 100_000; i++) counts[rng.pick(table)]! += 1;
    expect(counts[1]).toBe(0);
    expect(Math.abs(counts[0]! / 100_000 - 0.25)).toBeLessThan(0.01);
  });
});

describe("UserIdMapper", () => {
  it("gives unique lab-shaped ids that do not count up", () => {
    const ids = mapper(42);
    const seen = new Set<string>();
    const malformed: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      const id = ids.idFor(i);
      if (!/^[0-9]{4}-[A-Z]{5}$/.test(id)) malformed.push(id);
      seen.add(id);
    }
    expect(malformed).toEqual([]);
    expect(seen.size).toBe(200_000);
    // Neighbouring indices land far apart: the digit steps between consecutive ids vary.
    const digits = Array.from({ length: 1000 }, (_, i) =>
      Number(ids.idFor(i).slice(0, 4)),
    );
    const steps = new Set(
      digits.slice(1).map((d, i) => (d - digits[i]! + 10_000) % 10_000),
    );
    expect(steps.size).toBeGreaterThan(900);
    expect(ids.idFor(USER_ID_SPACE - 1)).toMatch(/^[0-9]{4}-[A-Z]{5}$/);
  });

  it("depends on the seed", () => {
    expect(mapper(1).idFor(0)).not.toBe(mapper(2).idFor(0));
    expect(mapper(1).idFor(0)).toBe(mapper(1).idFor(0));
  });
});

describe("number formats", () => {
  it.each([
    [2985, "29.85"],
    [4230, "42.3"],
    [0, "0.0"],
    [5, "0.05"],
    [1825, "18.25"],
    [11875, "118.75"],
    [868480, "8684.8"],
    [200, "2.0"],
  ])("formatCents(%i) = %s, like the lab's Python floats", (cents, text) => {
    expect(formatCents(cents)).toBe(text);
  });

  it.each([
    [160, "16.0"],
    [86, "8.6"],
    [10, "1.0"],
    [249, "24.9"],
  ])("formatDeci(%i) = %s", (deci, text) => {
    expect(formatDeci(deci)).toBe(text);
  });

  it("prints measurements at full precision and never in exponent notation", () => {
    expect(formatFloat(24.483650766787413)).toBe("24.483650766787413");
    expect(formatFloat(29)).toBe("29.0");
    expect(formatFloat(1.5e-7)).toBe("0.00000015");
    expect(formatFloat(1.25e-9)).toBe("0.00000000125");
    expect(formatFloat(2e21)).toBe("2000000000000000000000.0");
    for (const x of [
      1.5e-7,
      Number("1.2345678901234567e-9"),
      -4.2e-8,
      2e21,
      3.3e25,
    ]) {
      expect(formatFloat(x)).toMatch(/^-?[0-9]+\.[0-9]+$/);
      expect(Number(formatFloat(x))).toBe(x);
    }
  });
});

import type { ConfusionMatrix } from "../metrics/classification.ts";
import { GRID, INK, MUTED, svgDocument, text } from "./svg.ts";

export interface ConfusionMatrixSvgOptions {
  matrix: ConfusionMatrix;
  /** Names of class 0 and class 1. @default ["no churn", "churn"] */
  labels?: readonly [string, string];
  /** @default "Confusion matrix (validation, threshold 0.5)" */
  title?: string;
}

/** 2×2 confusion matrix as an SVG heat map: counts, share of all rows, and per-class recall. */
export function renderConfusionMatrixSvg({
  matrix,
  labels = ["no churn", "churn"],
  title = "Confusion matrix (validation, threshold 0.5)",
}: ConfusionMatrixSvgOptions): string {
  const cells: readonly (readonly [number, number])[] = [
    [matrix.tn, matrix.fp],
    [matrix.fn, matrix.tp],
  ];
  const total = matrix.tn + matrix.fp + matrix.fn + matrix.tp;
  const max = Math.max(1, matrix.tn, matrix.fp, matrix.fn, matrix.tp);
  const W = 520;
  const H = 470;
  const cell = 150;
  const x0 = 150;
  const y0 = 90;
  const body: string[] = [
    text(title, { x: W / 2, y: 32, size: 17, anchor: "middle", weight: 600 }),
  ];
  body.push(
    text("Predicted", {
      x: x0 + cell,
      y: y0 - 32,
      size: 13,
      anchor: "middle",
      weight: 600,
    }),
  );
  body.push(
    text("Actual", {
      x: 36,
      y: y0 + cell,
      size: 13,
      anchor: "middle",
      weight: 600,
      rotate: -90,
    }),
  );
  for (let j = 0; j < 2; j++) {
    body.push(
      text(labels[j] as string, {
        x: x0 + cell * j + cell / 2,
        y: y0 - 10,
        size: 12,
        anchor: "middle",
        fill: MUTED,
      }),
    );
    body.push(
      text(labels[j] as string, {
        x: x0 - 10,
        y: y0 + cell * j + cell / 2,
        size: 12,
        anchor: "end",
        baseline: "middle",
        fill: MUTED,
      }),
    );
  }
  for (let i = 0; i < 2; i++) {
    const row = cells[i] as readonly [number, number];
    const rowTotal = row[0] + row[1];
    for (let j = 0; j < 2; j++) {
      const v = row[j] as number;
      const shade = v / max;
      // White to blue; text turns white on dark cells to stay readable.
      const r = Math.round(255 - shade * (255 - 37));
      const g = Math.round(255 - shade * (255 - 99));
      const b = Math.round(255 - shade * (255 - 235));
      const fg = shade > 0.55 ? "#ffffff" : INK;
      const x = x0 + cell * j;
      const y = y0 + cell * i;
      body.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${r},${g},${b})" stroke="#ffffff" stroke-width="2"/>`,
      );
      body.push(
        text(String(v), {
          x: x + cell / 2,
          y: y + cell / 2 - 8,
          size: 24,
          anchor: "middle",
          weight: 600,
          fill: fg,
        }),
      );
      const share = total === 0 ? 0 : (100 * v) / total;
      const ofRow = rowTotal === 0 ? 0 : (100 * v) / rowTotal;
      body.push(
        text(`${share.toFixed(1)}% of all · ${ofRow.toFixed(1)}% of row`, {
          x: x + cell / 2,
          y: y + cell / 2 + 18,
          size: 10.5,
          anchor: "middle",
          fill: fg,
        }),
      );
    }
  }
  body.push(
    `<rect x="${x0}" y="${y0}" width="${2 * cell}" height="${2 * cell}" fill="none" stroke="${GRID}"/>`,
  );
  const acc = total === 0 ? 0 : (matrix.tn + matrix.tp) / total;
  body.push(
    text(`${total} rows · accuracy ${(100 * acc).toFixed(1)}%`, {
      x: x0 + cell,
      y: y0 + 2 * cell + 34,
      size: 12,
      anchor: "middle",
      fill: MUTED,
    }),
  );
  return svgDocument({ width: W, height: H, title, body });
}

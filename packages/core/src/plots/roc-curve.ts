import { CoreError } from "../errors.ts";
import { ACCENT, GRID, INK, MUTED, num, svgDocument, text } from "./svg.ts";

export interface RocCurveSvgOptions {
  fpr: readonly number[];
  tpr: readonly number[];
  auc: number;
  /** @default "ROC curve (validation)" */
  title?: string;
}

/** ROC curve as an SVG document: step curve with shaded area, chance diagonal, grid, AUC in the legend. */
export function renderRocCurveSvg({
  fpr,
  tpr,
  auc,
  title = "ROC curve (validation)",
}: RocCurveSvgOptions): string {
  if (fpr.length !== tpr.length || fpr.length < 2) {
    throw new CoreError(
      "INVALID_ARGUMENT",
      `a ROC curve needs matching fpr and tpr arrays of 2+ points, got ${fpr.length} and ${tpr.length}`,
    );
  }
  const W = 560;
  const H = 520;
  const m = { left: 70, right: 24, top: 56, bottom: 64 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const X = (v: number): number => m.left + v * pw;
  const Y = (v: number): number => m.top + (1 - v) * ph;
  const body: string[] = [];
  body.push(
    text(title, { x: W / 2, y: 30, size: 17, anchor: "middle", weight: 600 }),
  );
  for (let i = 0; i <= 5; i++) {
    const v = i / 5;
    body.push(
      `<line x1="${num(X(v))}" y1="${num(Y(0))}" x2="${num(X(v))}" y2="${num(Y(1))}" stroke="${GRID}"/>`,
    );
    body.push(
      `<line x1="${num(X(0))}" y1="${num(Y(v))}" x2="${num(X(1))}" y2="${num(Y(v))}" stroke="${GRID}"/>`,
    );
    body.push(
      text(v.toFixed(1), {
        x: X(v),
        y: Y(0) + 20,
        size: 11,
        anchor: "middle",
        fill: MUTED,
      }),
    );
    body.push(
      text(v.toFixed(1), {
        x: X(0) - 10,
        y: Y(v),
        size: 11,
        anchor: "end",
        fill: MUTED,
        baseline: "middle",
      }),
    );
  }
  body.push(
    `<rect x="${X(0)}" y="${Y(1)}" width="${pw}" height="${ph}" fill="none" stroke="${INK}" stroke-width="1"/>`,
  );
  body.push(
    `<line x1="${X(0)}" y1="${Y(0)}" x2="${X(1)}" y2="${Y(1)}" stroke="${MUTED}" stroke-width="1.2" stroke-dasharray="5 4"/>`,
  );
  const points = fpr.map((f, i) => `${num(X(f))},${num(Y(tpr[i] as number))}`);
  body.push(
    `<polygon points="${points.join(" ")} ${num(X(1))},${num(Y(0))}" fill="${ACCENT}" fill-opacity="0.12" stroke="none"/>`,
  );
  body.push(
    `<polyline points="${points.join(" ")}" fill="none" stroke="${ACCENT}" stroke-width="2.2" stroke-linejoin="round"/>`,
  );
  body.push(
    text("False positive rate", {
      x: m.left + pw / 2,
      y: H - 20,
      size: 13,
      anchor: "middle",
    }),
  );
  body.push(
    text("True positive rate", {
      x: 22,
      y: m.top + ph / 2,
      size: 13,
      anchor: "middle",
      rotate: -90,
    }),
  );
  const lx = X(1) - 196;
  const ly = Y(0) - 66;
  body.push(
    `<rect x="${num(lx)}" y="${num(ly)}" width="184" height="54" rx="6" fill="#ffffff" fill-opacity="0.92" stroke="${GRID}"/>`,
  );
  body.push(
    `<line x1="${num(lx + 12)}" y1="${num(ly + 18)}" x2="${num(lx + 36)}" y2="${num(ly + 18)}" stroke="${ACCENT}" stroke-width="2.2"/>`,
  );
  body.push(
    text(`model (AUC = ${auc.toFixed(3)})`, {
      x: lx + 44,
      y: ly + 18,
      size: 12,
      baseline: "middle",
    }),
  );
  body.push(
    `<line x1="${num(lx + 12)}" y1="${num(ly + 38)}" x2="${num(lx + 36)}" y2="${num(ly + 38)}" stroke="${MUTED}" stroke-width="1.2" stroke-dasharray="5 4"/>`,
  );
  body.push(
    text("chance (AUC = 0.5)", {
      x: lx + 44,
      y: ly + 38,
      size: 12,
      baseline: "middle",
      fill: MUTED,
    }),
  );
  return svgDocument({
    width: W,
    height: H,
    title: `${title}, AUC ${auc.toFixed(3)}`,
    body,
  });
}

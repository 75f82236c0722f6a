import { CoreError } from "../errors.ts";
import {
  ACCENT,
  GRID,
  INK,
  MUTED,
  formatTick,
  niceTicks,
  num,
  svgDocument,
  text,
} from "./svg.ts";

export interface FeatureImportancesSvgOptions {
  importances: readonly { name: string; importance: number }[];
  /** Bars shown, largest first. @default 20 */
  top?: number;
  /** @default "Feature importances (mean impurity decrease)" */
  title?: string;
}

/** Horizontal bar chart of feature importances as an SVG document, largest on top. */
export function renderFeatureImportancesSvg({
  importances,
  top = 20,
  title = "Feature importances (mean impurity decrease)",
}: FeatureImportancesSvgOptions): string {
  if (importances.length === 0)
    throw new CoreError("INVALID_ARGUMENT", "no feature importances to plot");
  const bars = [...importances]
    .sort((a, b) => b.importance - a.importance || (a.name < b.name ? -1 : 1))
    .slice(0, top);
  const labelWidth = Math.min(
    260,
    16 + 7 * Math.max(...bars.map((b) => b.name.length)),
  );
  const W = 720;
  const rowH = 24;
  const m = { left: labelWidth + 12, right: 64, top: 56, bottom: 52 };
  const pw = W - m.left - m.right;
  const ph = bars.length * rowH;
  const H = m.top + ph + m.bottom;
  const ticks = niceTicks(Math.max(...bars.map((b) => b.importance), 1e-12));
  const max = ticks[ticks.length - 1] as number;
  const X = (v: number): number => m.left + (v / max) * pw;
  const body: string[] = [
    text(title, { x: W / 2, y: 30, size: 17, anchor: "middle", weight: 600 }),
  ];
  for (const t of ticks) {
    body.push(
      `<line x1="${num(X(t))}" y1="${m.top}" x2="${num(X(t))}" y2="${m.top + ph}" stroke="${GRID}"/>`,
    );
    body.push(
      text(formatTick(t), {
        x: X(t),
        y: m.top + ph + 18,
        size: 11,
        anchor: "middle",
        fill: MUTED,
      }),
    );
  }
  bars.forEach((b, i) => {
    const y = m.top + i * rowH;
    const w = Math.max(0, X(b.importance) - m.left);
    body.push(
      `<rect x="${m.left}" y="${num(y + 4)}" width="${num(w)}" height="${rowH - 8}" rx="2" fill="${ACCENT}" fill-opacity="${num(0.95 - (0.5 * i) / Math.max(1, bars.length))}"/>`,
    );
    body.push(
      text(b.name, {
        x: m.left - 8,
        y: y + rowH / 2,
        size: 12,
        anchor: "end",
        baseline: "middle",
      }),
    );
    body.push(
      text(b.importance.toFixed(3), {
        x: m.left + w + 6,
        y: y + rowH / 2,
        size: 11,
        baseline: "middle",
        fill: MUTED,
      }),
    );
  });
  body.push(
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="${INK}"/>`,
  );
  body.push(
    text("Importance (share of total impurity decrease)", {
      x: m.left + pw / 2,
      y: H - 14,
      size: 13,
      anchor: "middle",
    }),
  );
  return svgDocument({ width: W, height: H, title, body });
}

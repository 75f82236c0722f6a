/** Small helpers for hand-written SVG charts; no layout engine, just consistent pieces. */

export const FONT =
  "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
export const INK = "#1f2933";
export const MUTED = "#616e7c";
export const GRID = "#e4e7eb";
export const ACCENT = "#2563eb";

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Rounds to 4 decimals so coordinates stay short and output is stable. */
export function num(v: number): string {
  return String(Math.round(v * 10000) / 10000);
}

interface TextOptions {
  x: number;
  y: number;
  size?: number;
  anchor?: "start" | "middle" | "end";
  weight?: number;
  fill?: string;
  rotate?: number;
  baseline?: "auto" | "middle" | "hanging";
}

export function text(content: string, o: TextOptions): string {
  const transform =
    o.rotate === undefined
      ? ""
      : ` transform="rotate(${o.rotate} ${num(o.x)} ${num(o.y)})"`;
  return `<text x="${num(o.x)}" y="${num(o.y)}" font-size="${o.size ?? 12}" text-anchor="${o.anchor ?? "start"}" font-weight="${o.weight ?? 400}" fill="${o.fill ?? INK}" dominant-baseline="${o.baseline ?? "auto"}"${transform}>${escapeXml(content)}</text>`;
}

/** "Nice" axis ticks (1, 2, 2.5 or 5 × 10^k steps) covering [0, max]. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let i = 0; i * step < max + step * 1e-9; i++)
    ticks.push(Number((i * step).toPrecision(12)));
  if ((ticks[ticks.length - 1] as number) < max)
    ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

export function formatTick(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

export interface SvgDocumentOptions {
  width: number;
  height: number;
  title: string;
  body: readonly string[];
}

export function svgDocument({
  width,
  height,
  title,
  body,
}: SvgDocumentOptions): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

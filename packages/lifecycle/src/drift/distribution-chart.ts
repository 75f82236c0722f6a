import type {
  Distribution,
  DriftColumnKind,
  DriftValue,
} from "@streamflow/core";

/** One bar group of a chart: a label and each period's share of its rows. */
export interface ChartBin {
  label: string;
  reference: number;
  current: number;
}

/** Above this many distinct values a numerical column is drawn as a histogram, not one bar per value. */
const MAX_BARS = 30;
const MAX_BINS = 40;

const formatValue = (v: DriftValue): string =>
  typeof v === "number" ? Number(v.toPrecision(4)).toString() : String(v);

/** Each period's share of rows per distinct value, over the union of values. */
function valueBins(reference: Distribution, current: Distribution): ChartBin[] {
  const shares = new Map<DriftValue, ChartBin>();
  const add = (d: Distribution, side: "reference" | "current") =>
    d.values.forEach((v, i) => {
      const bin = shares.get(v) ?? {
        label: formatValue(v),
        reference: 0,
        current: 0,
      };
      bin[side] += d.counts[i]! / d.n;
      shares.set(v, bin);
    });
  add(reference, "reference");
  add(current, "current");
  return [...shares.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, bin]) => bin);
}

/** Equal-width bins over both periods' range (Sturges' count, at most 40), shares per period. */
function histogramBins(
  reference: Distribution,
  current: Distribution,
): ChartBin[] {
  const first = (d: Distribution) => d.values[0] as number;
  const last = (d: Distribution) => d.values[d.values.length - 1] as number;
  const lo = Math.min(first(reference), first(current));
  const hi = Math.max(last(reference), last(current));
  const k = Math.min(
    MAX_BINS,
    Math.ceil(Math.log2(reference.n + current.n)) + 1,
  );
  const width = (hi - lo) / k;
  const bins: ChartBin[] = Array.from({ length: k }, (_, i) => ({
    label: formatValue(lo + i * width),
    reference: 0,
    current: 0,
  }));
  const add = (d: Distribution, side: "reference" | "current") =>
    d.values.forEach((v, i) => {
      const at = Math.min(k - 1, Math.floor(((v as number) - lo) / width));
      bins[at]![side] += d.counts[i]! / d.n;
    });
  add(reference, "reference");
  add(current, "current");
  return bins;
}

export function chartBins(
  kind: DriftColumnKind,
  reference: Distribution,
  current: Distribution,
): { bins: ChartBin[]; histogram: boolean } {
  if (reference.n === 0 && current.n === 0)
    return { bins: [], histogram: false };
  const distinct = new Set([...reference.values, ...current.values]).size;
  const histogram =
    kind === "numerical" &&
    distinct > MAX_BARS &&
    reference.n > 0 &&
    current.n > 0;
  return {
    bins: histogram
      ? histogramBins(reference, current)
      : valueBins(reference, current),
    histogram,
  };
}

const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const W = 640;
const H = 220;
const M = { left: 44, right: 12, top: 12, bottom: 40 };

/**
 * Reference and current distributions of one column as an inline SVG: overlaid bars for a
 * histogram, side-by-side bars for values. Self-contained (no script, no fonts, no network).
 */
export function renderDistributionSvg(options: {
  name: string;
  kind: DriftColumnKind;
  reference: Distribution;
  current: Distribution;
}): string {
  const { bins, histogram } = chartBins(
    options.kind,
    options.reference,
    options.current,
  );
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const top = Math.max(
    1e-9,
    ...bins.map((b) => Math.max(b.reference, b.current)),
  );
  const y = (share: number) => M.top + plotH - (share / top) * plotH;
  const slot = bins.length === 0 ? plotW : plotW / bins.length;
  const parts: string[] = [];
  bins.forEach((b, i) => {
    const x0 = M.left + i * slot;
    const bars = histogram
      ? [
          { share: b.reference, x: x0, w: slot, cls: "ref" },
          { share: b.current, x: x0, w: slot, cls: "cur" },
        ]
      : [
          { share: b.reference, x: x0 + slot * 0.1, w: slot * 0.4, cls: "ref" },
          { share: b.current, x: x0 + slot * 0.5, w: slot * 0.4, cls: "cur" },
        ];
    for (const bar of bars) {
      parts.push(
        `<rect class="${bar.cls}" x="${bar.x.toFixed(2)}" y="${y(bar.share).toFixed(2)}" width="${Math.max(0.5, bar.w).toFixed(2)}" height="${(M.top + plotH - y(bar.share)).toFixed(2)}"><title>${escapeXml(b.label)}: ${bar.cls === "ref" ? "reference" : "current"} ${(bar.share * 100).toFixed(2)}%</title></rect>`,
      );
    }
    const every = Math.ceil(bins.length / 10);
    if (i % every === 0)
      parts.push(
        `<text class="tick" x="${(x0 + slot / 2).toFixed(2)}" y="${H - M.bottom + 14}" text-anchor="middle">${escapeXml(b.label.slice(0, 12))}</text>`,
      );
  });
  for (const f of [0, 0.5, 1]) {
    parts.push(
      `<text class="tick" x="${M.left - 4}" y="${(y(top * f) + 4).toFixed(2)}" text-anchor="end">${(top * f * 100).toFixed(top < 0.1 ? 1 : 0)}%</text>`,
    );
  }
  const legendY = H - 8;
  return [
    `<svg class="chart" data-column="${escapeXml(options.name)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(`${options.name}: reference and current distributions`)}">`,
    `<line class="axis" x1="${M.left}" y1="${M.top + plotH}" x2="${W - M.right}" y2="${M.top + plotH}"/>`,
    `<line class="axis" x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + plotH}"/>`,
    ...parts,
    `<rect class="ref" x="${M.left}" y="${legendY - 9}" width="10" height="10"/><text class="tick" x="${M.left + 14}" y="${legendY}">reference</text>`,
    `<rect class="cur" x="${M.left + 90}" y="${legendY - 9}" width="10" height="10"/><text class="tick" x="${M.left + 104}" y="${legendY}">current</text>`,
    bins.length === 0
      ? `<text class="tick" x="${W / 2}" y="${H / 2}" text-anchor="middle">no values</text>`
      : "",
    `</svg>`,
  ].join("");
}

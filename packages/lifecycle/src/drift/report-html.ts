import type { ColumnDrift } from "./column-tests.ts";
import type { DriftOutcome } from "./detect-drift.ts";
import { renderDistributionSvg } from "./distribution-chart.ts";

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const fmt = (x: number | null, digits = 4): string =>
  x === null || !Number.isFinite(x) ? "—" : x.toFixed(digits);

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:980px;color:#1d2430;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
h3{font-size:15px;margin:20px 0 4px}.muted{color:#5b6575}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e8ebf0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.drifted td{background:#fde8e6}.verdict{font-weight:600}.verdict.yes{color:#b3261e}.verdict.no{color:#1e7d32}
.banner{padding:10px 14px;border-radius:6px;margin:12px 0;font-weight:600}
.banner.yes{background:#fde8e6;color:#8c1d18}.banner.no{background:#e6f4ea;color:#1e5b2c}
section.column{border:1px solid #e8ebf0;border-radius:6px;padding:8px 12px;margin:12px 0}
section.column.drifted{border-color:#e3a39d;background:#fffafa}
svg.chart .ref{fill:#4c78a8;fill-opacity:.55}svg.chart .cur{fill:#f58518;fill-opacity:.55}
svg.chart .axis{stroke:#8a94a6;stroke-width:1}svg.chart .tick{font-size:10px;fill:#5b6575}
`;

function verdict(drifted: boolean, tested: boolean): string {
  if (!tested) return `<span class="verdict muted">not tested</span>`;
  return drifted
    ? `<span class="verdict yes">drift</span>`
    : `<span class="verdict no">no drift</span>`;
}

function testLine(c: ColumnDrift): string {
  if (c.method === null)
    return `<p class="muted">${escapeHtml(c.note ?? "not tested")}</p>`;
  const rule =
    c.method === "ks"
      ? "p ≤ threshold"
      : c.method === "chisquare" || c.method === "ztest"
        ? "p < threshold"
        : "score ≥ threshold";
  return `<p>${escapeHtml(c.method)} · score <b>${fmt(c.score, 6)}</b> · threshold ${fmt(c.threshold, 4)} (drift when ${rule}) · ${verdict(c.drifted, true)} · n ${c.reference.n.toLocaleString("en-US")} / ${c.current.n.toLocaleString("en-US")}${c.note ? ` · <span class="muted">${escapeHtml(c.note)}</span>` : ""}</p>`;
}

function columnSection(c: ColumnDrift, heading: string, extra = ""): string {
  return `<section class="column${c.drifted ? " drifted" : ""}" data-column="${escapeHtml(c.name)}">
<h3>${escapeHtml(heading)}</h3>${extra}${testLine(c)}
${renderDistributionSvg(c)}
</section>`;
}

function summaryTable(outcome: DriftOutcome): string {
  const rows = outcome.features.map(
    (f) =>
      `<tr class="${f.drifted ? "drifted" : ""}"><td><a href="#f-${escapeHtml(f.name)}">${escapeHtml(f.name)}</a></td><td>${f.kind} (${f.columnType})</td><td>${f.method ?? "—"}</td><td class="num">${fmt(f.score)}</td><td class="num">${fmt(f.threshold)}</td><td>${verdict(f.drifted, f.method !== null)}</td></tr>`,
  );
  return `<table class="summary"><thead><tr><th>feature</th><th>type</th><th>method</th><th>score</th><th>threshold</th><th>verdict</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function performanceSection(outcome: DriftOutcome): string {
  const p = outcome.performance;
  if (p === null)
    return `<p class="muted">No model given: run drift with --model-uri to see prediction drift and realised performance.</p>`;
  const row = (name: string, key: "auc" | "f1" | "accuracy") =>
    `<tr><td>${name}</td><td class="num">${fmt(p.validation[key])}</td><td class="num">${fmt(p.current[key])}</td><td class="num">${fmt(p.drop[key])}</td></tr>`;
  return `<p>On ${p.rows.toLocaleString("en-US")} users of ${outcome.current.asOf}, against their label snapshots.</p>
<table class="performance"><thead><tr><th>metric</th><th>validation (training)</th><th>current month</th><th>drop</th></tr></thead>
<tbody>${row("AUC", "auc")}${row("F1", "f1")}${row("accuracy", "accuracy")}</tbody></table>`;
}

/**
 * The drift report: one self-contained HTML file (inline CSS and SVG, no script, no network) that
 * opens from disk — a summary, then each feature's distributions, then target, prediction and
 * performance.
 */
export function renderDriftReportHtml(
  outcome: DriftOutcome,
  context: { runId: string | null; generatedAt: Date },
): string {
  const title = `Drift ${outcome.reference.asOf} → ${outcome.current.asOf}`;
  const t = outcome.target;
  const model = outcome.model;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="muted">reference ${outcome.reference.asOf} (${outcome.reference.rows.toLocaleString("en-US")} users) · current ${outcome.current.asOf} (${outcome.current.rows.toLocaleString("en-US")} users)${model ? ` · model ${escapeHtml(model.name)} version ${escapeHtml(model.version)}` : ""}${context.runId ? ` · run ${escapeHtml(context.runId)}` : ""} · generated ${context.generatedAt.toISOString()}</p>
<div class="banner ${outcome.datasetDrift ? "yes" : "no"}" id="dataset-drift">${outcome.datasetDrift ? "Dataset drift" : "No dataset drift"}: ${outcome.driftedFeatures.length} of ${outcome.featuresTested} features drifted (share ${fmt(outcome.driftShare)}, threshold ${fmt(outcome.driftShareThreshold, 2)})</div>
<h2>Summary</h2>
${summaryTable(outcome)}
<h2>Features</h2>
<div id="features">
${outcome.features.map((f) => `<div id="f-${escapeHtml(f.name)}">${columnSection(f, `${f.name} — ${f.kind} (${f.columnType})`)}</div>`).join("\n")}
</div>
<h2>Target</h2>
<div id="target">${columnSection(t, t.name, `<p>churn rate ${pct(t.referenceRate)} → ${pct(t.currentRate)} · absolute difference <b>${fmt(t.absDiff)}</b> (labels from each month's own label snapshot)</p>`)}</div>
<h2>Prediction</h2>
<div id="prediction">${outcome.prediction === null ? `<p class="muted">No model given.</p>` : columnSection(outcome.prediction, "p_churn")}</div>
<h2>Performance</h2>
<div id="performance">${performanceSection(outcome)}</div>
</body></html>
`;
}

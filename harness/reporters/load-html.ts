import { escapeMarkup } from './escape.js';
import type { HistogramBucket } from '../load/histogram.js';
import type { LoadSummary } from '../load/summary.js';
import type { TimelinePoint } from '../load/timeline.js';

/**
 * The `--report html:PATH` page of a load run: one self-contained file (no scripts, no
 * external assets) with the summary, the verdict, the thresholds, the latency histogram,
 * and the rate and latency over time, drawn as inline SVG.
 */

export interface LoadReportInput {
  server: string;
  startedAt: string;
  /** What load was asked for, in words. */
  load: string;
  connections: number;
  cards: number;
  summary: LoadSummary;
  transportErrors: Record<string, number>;
  buckets: HistogramBucket[];
  timeline: readonly TimelinePoint[];
  verdict: { exitCode: number; reason: string };
  tool: { name: string; version: string };
}

const esc = escapeMarkup;

export interface Bin {
  lowMs: number;
  highMs: number;
  count: number;
}

/**
 * Regroups histogram buckets into at most `bins` log-spaced bins from the lowest to the
 * highest recorded bucket, so a picture stays readable whatever the spread.
 */
export function logBins(buckets: HistogramBucket[], bins = 48): Bin[] {
  if (buckets.length === 0) return [];
  const low = Math.max(1, buckets[0]!.lowUs);
  const high = Math.max(low + 1, buckets[buckets.length - 1]!.highUs + 1);
  const ratio = Math.log(high / low);
  // Bins narrower than a histogram bucket (< 1/128) would leave a comb of empty bars.
  const n = Math.max(1, Math.min(bins, Math.floor(ratio / Math.log1p(1 / 128)), buckets.length > 1 ? bins : 1));
  const edges = Array.from({ length: n + 1 }, (_, i) => low * Math.exp((ratio * i) / n));
  const out: Bin[] = edges.slice(0, -1).map((e, i) => ({ lowMs: e / 1000, highMs: edges[i + 1]! / 1000, count: 0 }));
  for (const b of buckets) {
    const mid = Math.max(low, (b.lowUs + b.highUs + 1) / 2);
    const i = Math.min(n - 1, Math.max(0, Math.floor((Math.log(mid / low) / ratio) * n)));
    out[i]!.count += b.count;
  }
  return out;
}

function fmtMs(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** The latency histogram as an SVG element: bars on a log latency axis, percentile lines. */
export function histogramSvg(buckets: HistogramBucket[], latency: LoadSummary['latencyMs']): string {
  const W = 760,
    H = 280,
    left = 56,
    right = 16,
    top = 16,
    bottom = 44;
  const bins = logBins(buckets);
  if (bins.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60" role="img" aria-label="no latencies recorded"><text x="10" y="30">no latencies recorded</text></svg>`;
  const plotW = W - left - right,
    plotH = H - top - bottom;
  const maxCount = Math.max(...bins.map((b) => b.count));
  const lowMs = bins[0]!.lowMs,
    highMs = bins[bins.length - 1]!.highMs;
  const x = (v: number): number => left + (plotW * Math.log(Math.max(v, lowMs) / lowMs)) / Math.log(highMs / lowMs || 2);
  const barW = plotW / bins.length;
  const parts: string[] = [];
  bins.forEach((b, i) => {
    if (b.count === 0) return;
    const h = (plotH * b.count) / maxCount;
    parts.push(
      `<rect x="${(left + i * barW + 0.5).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7bd0"><title>${fmtMs(b.lowMs)}-${fmtMs(b.highMs)} ms: ${b.count}</title></rect>`,
    );
  });
  for (const i of [0, Math.floor(bins.length / 3), Math.floor((2 * bins.length) / 3), bins.length]) {
    const v = i === bins.length ? highMs : bins[i]!.lowMs;
    const px = left + i * barW;
    parts.push(
      `<line x1="${px.toFixed(1)}" y1="${top + plotH}" x2="${px.toFixed(1)}" y2="${top + plotH + 5}" stroke="#333"/><text x="${px.toFixed(1)}" y="${top + plotH + 18}" font-size="11" text-anchor="middle">${fmtMs(v)}</text>`,
    );
  }
  const marks: Array<[string, number, string]> = [
    ['p50', latency.p50, '#2a8a2a'],
    ['p95', latency.p95, '#c77700'],
    ['p99', latency.p99, '#c0392b'],
  ];
  marks.forEach(([label, v, color], k) => {
    const px = x(v);
    parts.push(
      `<line x1="${px.toFixed(1)}" y1="${top}" x2="${px.toFixed(1)}" y2="${top + plotH}" stroke="${color}" stroke-dasharray="4 3"/><text x="${(px + 3).toFixed(1)}" y="${top + 12 + 13 * k}" font-size="11" fill="${color}">${label} ${fmtMs(v)} ms</text>`,
    );
  });
  parts.push(
    `<line x1="${left}" y1="${top + plotH}" x2="${W - right}" y2="${top + plotH}" stroke="#333"/><line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`,
  );
  parts.push(
    `<text x="${left - 6}" y="${top + 10}" font-size="11" text-anchor="end">${maxCount}</text><text x="${left - 6}" y="${top + plotH}" font-size="11" text-anchor="end">0</text>`,
  );
  parts.push(`<text x="${left + plotW / 2}" y="${H - 6}" font-size="12" text-anchor="middle">latency, ms (log scale)</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="latency histogram">${parts.join('')}</svg>`;
}

export interface Series {
  label: string;
  color: string;
  values: ReadonlyArray<number | null>;
  dashed?: boolean;
}

/**
 * Lines over time: one x per timeline point (its middle, in s), a linear or log y axis;
 * a null value breaks its line (an interval in which nothing was answered).
 */
export function timeChartSvg(label: string, xs: readonly number[], series: readonly Series[], yLabel: string, log: boolean): string {
  const W = 760,
    H = 240,
    left = 56,
    right = 16,
    top = 16,
    bottom = 44;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v) && (!log || v > 0)));
  if (xs.length === 0 || all.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="60" role="img" aria-label="${esc(label)}: no data"><text x="10" y="30">${esc(label)}: no data</text></svg>`;
  const plotW = W - left - right,
    plotH = H - top - bottom;
  const xMax = Math.max(...xs, 0.001);
  let yMin = log ? Math.min(...all) : 0;
  let yMax = Math.max(...all);
  if (log) {
    yMin = 10 ** Math.floor(Math.log10(yMin));
    yMax = 10 ** Math.ceil(Math.log10(yMax) + 1e-9);
  } else if (yMax <= 0) {
    yMax = 1;
  }
  const x = (v: number): number => left + (plotW * v) / xMax;
  const y = (v: number): number => top + plotH - plotH * (log ? Math.log(v / yMin) / Math.log(yMax / yMin) : v / yMax);
  const parts: string[] = [];
  const ticks = log ? Array.from({ length: Math.round(Math.log10(yMax / yMin)) + 1 }, (_, i) => yMin * 10 ** i) : [0, yMax / 2, yMax];
  for (const t of ticks) {
    parts.push(
      `<line x1="${left}" y1="${y(t).toFixed(1)}" x2="${W - right}" y2="${y(t).toFixed(1)}" stroke="#eee"/><text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" font-size="11" text-anchor="end">${fmtMs(t)}</text>`,
    );
  }
  for (const t of [0, xMax / 2, xMax]) {
    parts.push(`<text x="${x(t).toFixed(1)}" y="${top + plotH + 18}" font-size="11" text-anchor="middle">${t.toFixed(t < 10 ? 1 : 0)}</text>`);
  }
  series.forEach((s, k) => {
    let path = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v) || (log && v <= 0)) {
        pen = false;
        return;
      }
      path += `${pen ? 'L' : 'M'}${x(xs[i]!).toFixed(1)} ${y(v).toFixed(1)} `;
      pen = true;
    });
    if (path)
      parts.push(
        `<path d="${path.trim()}" fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''}><title>${esc(s.label)}</title></path>`,
      );
    parts.push(`<text x="${left + 8 + 110 * k}" y="${top + 10}" font-size="11" fill="${s.color}">${esc(s.label)}</text>`);
  });
  parts.push(
    `<line x1="${left}" y1="${top + plotH}" x2="${W - right}" y2="${top + plotH}" stroke="#333"/><line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333"/>`,
  );
  parts.push(`<text x="${left + plotW / 2}" y="${H - 6}" font-size="12" text-anchor="middle">time, s; ${esc(yLabel)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}">${parts.join('')}</svg>`;
}

/** The rate chart and the latency chart of a timeline. */
export function timelineSvgs(points: readonly TimelinePoint[], open: boolean): string {
  const xs = points.map((p) => (p.tMs + p.durationMs / 2) / 1000);
  const perSecond = (n: number, p: TimelinePoint): number | null => (p.durationMs > 0 ? (n * 1000) / p.durationMs : null);
  const rate: Series[] = [{ label: 'answered/s', color: '#4a7bd0', values: points.map((p) => perSecond(p.completed, p)) }];
  if (open) {
    rate.push({ label: 'target/s', color: '#555', values: points.map((p) => p.target), dashed: true });
    rate.push({ label: 'dropped/s', color: '#c0392b', values: points.map((p) => perSecond(p.dropped, p)) });
  }
  const latency: Series[] = [
    { label: 'p50', color: '#2a8a2a', values: points.map((p) => p.latencyMs?.p50 ?? null) },
    { label: 'p99', color: '#c77700', values: points.map((p) => p.latencyMs?.p99 ?? null) },
    { label: 'max', color: '#c0392b', values: points.map((p) => p.latencyMs?.max ?? null) },
  ];
  return `${timeChartSvg('rate over time', xs, rate, 'exchanges per second', false)}\n${timeChartSvg('latency over time', xs, latency, 'latency ms (log scale)', true)}`;
}

export function renderLoadHtml(r: LoadReportInput): string {
  const s = r.summary;
  const passed = r.verdict.exitCode === 0;
  const open = s.model === 'open';
  const row = (k: string, v: string | number): string => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`;
  const cells = (tag: 'th' | 'td', values: Array<string | number>): string => `<tr>${values.map((v) => `<${tag}>${esc(String(v))}</${tag}>`).join('')}</tr>`;
  const codes =
    Object.entries(s.statusCodes)
      .map(([c, n]) => row(c, n))
      .join('') || row('none', 0);
  const transport = Object.entries(r.transportErrors)
    .map(([k, n]) => row(k, n))
    .join('');
  const thresholds =
    s.thresholds.length === 0
      ? ''
      : `<h2>Thresholds</h2>
<table>${cells('th', ['threshold', 'measured', 'result'])}${s.thresholds.map((t) => `<tr><td>${esc(t.threshold)}</td><td>${esc(`${t.actual}${t.unit}`)}</td><td class="${t.pass ? 'ok' : 'bad'}">${t.pass ? 'pass' : 'FAIL'}</td></tr>`).join('')}</table>`;
  const stages =
    s.stages.length === 0
      ? ''
      : `<h2>Stages</h2>
<table>${cells('th', ['stage', 'duration, s', open ? 'rate, /s' : 'workers', 'exchanges', 'per second', ...(open ? ['dropped'] : []), 'errors', 'wrong', 'p50 ms', 'p99 ms', 'max ms'])}${s.stages.map((st) => cells('td', [st.stage, st.durationMs / 1000, `${st.from} to ${st.to}`, st.exchanges, st.exchangesPerSecond, ...(open ? [st.dropped] : []), st.errors, st.wrongCryptograms, st.latencyMs.p50, st.latencyMs.p99, st.latencyMs.max])).join('')}</table>`;
  const wrong =
    s.firstWrongCryptograms.length === 0
      ? ''
      : `<h2>First wrong cryptograms</h2>
<table>${cells('th', ['card', 'challenge', 'answer', 'diagnosis'])}${s.firstWrongCryptograms.map((w) => cells('td', [`${w.card}${w.phase === 'warmup' ? ' (warm-up)' : ''}`, w.challenge, w.response, w.diagnosis])).join('')}</table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cmcard load: ${esc(r.server)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:60em}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .7em;text-align:left}
th{background:#f4f4f4;font-weight:600}.ok{color:#1e7a1e}.bad{color:#b00020}
</style></head><body>
<h1>cmcard load</h1>
<p class="${passed ? 'ok' : 'bad'}"><strong>${passed ? 'PASSED' : `FAILED (exit ${r.verdict.exitCode})`}</strong>${r.verdict.reason ? `: ${esc(r.verdict.reason)}` : ''}</p>
<table>${row('server', r.server)}${row('started', r.startedAt)}${row('load', r.load)}${row('connections', r.connections)}${row('cards', r.cards)}${row('tool', `${r.tool.name} ${r.tool.version}`)}</table>
<h2>Summary</h2>
<table>${row('model', open ? 'open (exchanges start on schedule; latency from the due time)' : 'closed (each worker waits for its answer)')}${row('exchanges', s.exchanges)}${row('duration, ms', s.durationMs)}${row('exchanges per second', s.exchangesPerSecond)}${open ? row('dropped (due while every connection was busy)', s.dropped) : ''}${row('verified by the card', s.verified)}${row('wrong cryptograms', s.wrongCryptograms)}${row('errors', s.errors)}${s.abortedBy ? row('stopped early', `${s.abortedBy} could no longer hold`) : ''}</table>
${thresholds}
<h2>Latency (ms)</h2>
<table><tr><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr><tr><td>${s.latencyMs.p50}</td><td>${s.latencyMs.p90}</td><td>${s.latencyMs.p95}</td><td>${s.latencyMs.p99}</td><td>${s.latencyMs.max}</td></tr></table>
${histogramSvg(r.buckets, s.latencyMs)}
<h2>Over time</h2>
${timelineSvgs(r.timeline, open)}
${stages}
${wrong}
<h2>Status codes</h2>
<table>${codes}</table>
${transport ? `<h2>Transport errors</h2><table>${transport}</table>` : ''}
</body></html>
`;
}

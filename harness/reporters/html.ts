import type { CaseResult, Outcome, RecordedExchange, Reporter, RunReport } from '../events.js';
import { escapeMarkup as esc } from './escape.js';
import { redactReport } from './redact.js';
import { truncate } from './transcript.js';
import { writeReportFile } from './write-file.js';

/**
 * One self-contained HTML file: inline CSS, no external assets, readable without JS (a
 * few lines of inline JS only add the outcome filter). Everything from the server is
 * escaped, and a Content-Security-Policy forbids loading anything, so a hostile body stays text.
 */

const BODY_LIMIT = 100_000;
const OUTCOMES: readonly Outcome[] = ['failed', 'warning', 'passed', 'skipped'];
const LABEL: Record<Outcome, string> = { passed: 'PASS', failed: 'FAIL', warning: 'WARN', skipped: 'SKIP' };

const CSS = `
:root { color-scheme: light dark; --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --skip: #6e7781; --line: #d0d7de55; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { white-space: pre-wrap; word-break: break-all; margin: .25rem 0; padding: .5rem .75rem; background: #8881; border-radius: 4px; }
.meta { color: var(--skip); margin: 0 0 1rem; }
.counts { display: flex; gap: .75rem; flex-wrap: wrap; margin: 1rem 0; }
.count { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .9rem; min-width: 6rem; }
.count b { display: block; font-size: 1.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.badge { display: inline-block; font-weight: 700; font-size: 11px; padding: 1px 6px; border-radius: 3px; color: #fff; }
.b-passed { background: var(--pass); } .b-failed { background: var(--fail); } .b-warning { background: var(--warn); } .b-skipped { background: var(--skip); }
.case { border: 1px solid var(--line); border-left-width: 4px; border-radius: 4px; margin: .6rem 0; padding: .1rem .8rem .5rem; }
.case.o-passed { border-left-color: var(--pass); } .case.o-failed { border-left-color: var(--fail); }
.case.o-warning { border-left-color: var(--warn); } .case.o-skipped { border-left-color: var(--skip); }
.case summary { cursor: pointer; padding: .4rem 0; }
.message { white-space: pre-wrap; }
.exchange { margin: .5rem 0 .9rem; }
.exchange h4 { margin: .5rem 0 .2rem; font-size: 12px; color: var(--skip); }
.exchange.failed { border-left: 3px solid var(--fail); padding-left: .6rem; }
.failed-on { color: var(--fail); margin: .3rem 0; }
.notes li { margin: .2rem 0; }
.filters { margin: 1rem 0; } .filters label { margin-right: 1rem; }
body.hide-passed .o-passed, body.hide-failed .o-failed, body.hide-warning .o-warning, body.hide-skipped .o-skipped { display: none; }
`;

const SCRIPT = `
document.querySelector('.filters').hidden = false;
for (const box of document.querySelectorAll('.filters input')) {
  box.addEventListener('change', () => document.body.classList.toggle('hide-' + box.value, !box.checked));
}
`;

const badge = (outcome: Outcome): string => `<span class="badge b-${outcome}">${LABEL[outcome]}</span>`;
const anchor = (id: string): string => `case-${id.replace(/[^A-Za-z0-9._-]/g, '_')}`;
const ms = (value: number): string => `${Math.round(value)} ms`;

function headers(list: Record<string, string>): string {
  return Object.entries(list)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
}

function exchange(e: RecordedExchange, index: number): string {
  const failure = e.failed
    ? `<p class="failed-on"><b>The case failed on this exchange</b>${e.why ? `: ${esc(e.why)}` : ''}</p>` +
      (e.reproduce ? `<h4>Reproduce</h4><pre class="reproduce">${esc(e.reproduce)}</pre>` : '')
    : '';
  const request = [`${e.request.method} ${e.request.url}`, headers(e.request.headers)].filter(Boolean).join('\n');
  const requestBody = e.request.body ? `\n\n${truncate(e.request.body, BODY_LIMIT)}` : '';
  const response = e.response
    ? `<h4>Response (${ms(e.durationMs)})</h4><pre>${esc([`${e.response.status}`, headers(e.response.headers)].filter(Boolean).join('\n'))}</pre>` +
      `<pre class="body">${e.response.body === '' ? '<i>(empty body)</i>' : esc(truncate(e.response.body, BODY_LIMIT))}</pre>`
    : `<h4>No response (${ms(e.durationMs)})</h4><pre>${esc(e.error ?? 'unknown error')}</pre>`;
  return `<div class="exchange${e.failed ? ' failed' : ''}">${failure}<h4>Request ${index + 1}</h4><pre>${esc(request + requestBody)}</pre>${response}</div>`;
}

function caseSection(r: CaseResult): string {
  const open = r.outcome === 'failed' || r.outcome === 'warning' ? ' open' : '';
  // The exchanges the case failed on come first.
  const order = [...r.exchanges.entries()].sort(([, a], [, b]) => Number(b.failed === true) - Number(a.failed === true));
  const exchanges = r.exchanges.length ? order.map(([i, e]) => exchange(e, i)).join('') : '<p class="meta">No HTTP exchanges.</p>';
  return (
    `<section class="case o-${r.outcome}" id="${anchor(r.id)}"><details${open}>` +
    `<summary>${badge(r.outcome)} <b>${esc(r.level)}</b> <code>${esc(r.id)}</code> ${esc(r.title)} <span class="meta">(${ms(r.durationMs)}, ${r.exchanges.length} ${r.exchanges.length === 1 ? 'exchange' : 'exchanges'})</span></summary>` +
    `<p class="message">${esc(r.message)}</p>${exchanges}</details></section>`
  );
}

function overviewRow(r: CaseResult): string {
  return (
    `<tr class="o-${r.outcome}"><td>${badge(r.outcome)}</td><td>${esc(r.level)}</td>` +
    `<td><a href="#${anchor(r.id)}"><code>${esc(r.id)}</code></a></td><td>${esc(r.title)}</td><td>${ms(r.durationMs)}</td></tr>`
  );
}

/** Pure: the HTML document for a finished run, credentials redacted. */
export function renderHtml(run: RunReport): string {
  const report = redactReport(run);
  const { summary } = report;
  const verdict = summary.failed > 0 ? `${summary.failed} failed` : 'no MUST failures';
  const count = (outcome: Outcome, label: string, value: number): string => `<div class="count">${badge(outcome)}<b>${value}</b>${label}</div>`;
  const filters = OUTCOMES.map((o) => `<label><input type="checkbox" value="${o}" checked> ${LABEL[o]}</label>`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cmcard conformance: ${esc(report.server)} (${esc(verdict)})</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>cmcard conformance report</h1>
<p class="meta">Server <code>${esc(report.server)}</code> · started ${esc(report.startedAt)} · ${ms(report.durationMs)} · ${esc(report.tool.name)} ${esc(report.tool.version)}</p>
<div class="counts">${count('passed', 'passed', summary.passed)}${count('failed', 'failed', summary.failed)}${count('warning', 'warnings', summary.warnings)}${count('skipped', 'skipped', summary.skipped)}</div>
${report.notes?.length ? `<ul class="notes">${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</header>
<main>
<h2>Cases</h2>
<div class="filters" hidden>Show: ${filters}</div>
<table><thead><tr><th>Outcome</th><th>Level</th><th>Case</th><th>Title</th><th>Time</th></tr></thead>
<tbody>${report.results.map(overviewRow).join('\n')}</tbody></table>
<h2>Details and HTTP transcripts</h2>
${report.results.map(caseSection).join('\n')}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

export function htmlReporter(path: string): Reporter {
  return {
    async onRunEnd(report) {
      await writeReportFile(path, renderHtml(report));
    },
  };
}

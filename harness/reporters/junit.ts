import type { CaseResult, Reporter, RunReport } from '../events.js';
import { escapeAttribute, escapeMarkup } from './escape.js';
import { redactReport } from './redact.js';
import { exchangeLine, exchangeText, failedExchanges, failureLines } from './transcript.js';
import { writeReportFile } from './write-file.js';

/**
 * JUnit XML, one <testcase> per case: classname = level, name = case id. A `warning`
 * (a SHOULD or MAY case that did not hold) is a passing testcase whose <system-out> says
 * so: JUnit has no third state, and a CI gate on JUnit failures must match exit code 0.
 */

const BODY_LIMIT = 4096;

const seconds = (ms: number): string => (Math.max(0, ms) / 1000).toFixed(3);

/** The exchanges the case failed on first (why, reproduction), then every exchange in full. */
function transcript(result: CaseResult): string {
  const failed = failedExchanges(result.exchanges);
  const parts = result.exchanges.map((e) => exchangeText(e, BODY_LIMIT));
  if (failed.length) {
    const lines = failed.flatMap((e) => [`- ${exchangeLine(e)}`, ...failureLines(e).map((l) => `  ${l}`)]);
    parts.unshift([`Failed on ${failed.length} of ${result.exchanges.length} exchanges:`, ...lines].join('\n'));
  }
  return parts.join('\n\n');
}

function testcase(result: CaseResult): string {
  const open = `    <testcase classname="${escapeAttribute(result.level)}" name="${escapeAttribute(result.id)}" time="${seconds(result.durationMs)}"`;
  const detail = (headline: string): string => {
    const text = transcript(result);
    return escapeMarkup(`${headline}\n${result.title}${text ? `\n\n${text}` : ''}`);
  };
  switch (result.outcome) {
    case 'passed':
      return `${open}/>`;
    case 'skipped':
      return `${open}>\n      <skipped message="${escapeAttribute(result.message)}"/>\n    </testcase>`;
    case 'failed':
      return `${open}>\n      <failure message="${escapeAttribute(result.message)}" type="${escapeAttribute(result.level)}">${detail(result.message)}</failure>\n    </testcase>`;
    case 'warning':
      return `${open}>\n      <system-out>${detail(`WARNING (${result.level}): ${result.message}`)}</system-out>\n    </testcase>`;
  }
}

/** Pure: the JUnit XML document for a finished run, credentials redacted. */
export function renderJunit(run: RunReport): string {
  const report = redactReport(run);
  const { summary } = report;
  const counts =
    `tests="${report.results.length}" failures="${summary.failed}" errors="0" skipped="${summary.skipped}" ` +
    `time="${seconds(report.durationMs)}" timestamp="${escapeAttribute(report.startedAt)}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="cmcard conformance" ${counts}>`,
    `  <testsuite name="cmcard conformance" hostname="${escapeAttribute(report.server)}" ${counts}>`,
    '    <properties>',
    `      <property name="server" value="${escapeAttribute(report.server)}"/>`,
    `      <property name="tool" value="${escapeAttribute(`${report.tool.name} ${report.tool.version}`)}"/>`,
    `      <property name="warnings" value="${summary.warnings}"/>`,
    ...(report.notes ?? []).map((note) => `      <property name="note" value="${escapeAttribute(note)}"/>`),
    '    </properties>',
    ...report.results.map(testcase),
    ...(report.notes?.length ? [`    <system-out>${escapeMarkup(report.notes.map((n) => `note: ${n}`).join('\n'))}</system-out>`] : []),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export function junitReporter(path: string): Reporter {
  return {
    async onRunEnd(report) {
      await writeReportFile(path, renderJunit(report));
    },
  };
}

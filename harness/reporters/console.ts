import type { CaseInfo, CaseResult, Outcome, Progress, RecordedExchange, Reporter, RunInfo, RunReport, RunSummary } from '../events.js';
import { visibleControls } from './escape.js';
import { redactExchange, redactUrl } from './redact.js';
import { exchangeLine, failedExchanges, failureLines, truncate, visibleBody } from './transcript.js';

/**
 * The console report. On a TTY: a status line rewritten in place (n/N, counts, current
 * case) above which finished cases scroll. Elsewhere (CI logs): plain lines only, one per
 * case, no escape sequences.
 */

export interface ConsoleOptions {
  stream: { write(text: string): unknown; columns?: number };
  /** Live status line (cursor control). */
  tty: boolean;
  /** ANSI colours; createReporter turns them on only on a TTY without NO_COLOR. */
  color: boolean;
}

const LABEL: Record<Outcome, string> = { passed: 'PASS', failed: 'FAIL', warning: 'WARN', skipped: 'SKIP' };
const COLOUR: Record<Outcome, string> = { passed: '32', failed: '31', warning: '33', skipped: '90' };
const BODY_LIMIT = 200;
/** Failing exchanges shown per case; the file reports hold all. */
const SHOWN_FAILURES = 3;
const INDENT = '      ';
const CLEAR_LINE = '\r\u001b[2K';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `20 passed, 0 failed, 1 warning, 2 skipped in 812 ms` */
export function summaryLine(summary: RunSummary, durationMs: number): string {
  return `${summary.passed} passed, ${summary.failed} failed, ${plural(summary.warnings, 'warning')}, ${summary.skipped} skipped in ${Math.round(durationMs)} ms`;
}

export function consoleReporter(options: ConsoleOptions): Reporter {
  const { stream, tty, color } = options;
  const paint = (code: string, text: string): string => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const counts: RunSummary = { passed: 0, failed: 0, warnings: 0, skipped: 0 };
  let total = 0;
  let done = 0;
  let idWidth = 0;
  let current: CaseInfo | undefined;
  let currentExchanges = 0;
  let statusShown = false;
  let progress = '';

  const clearStatus = (): void => {
    if (statusShown) stream.write(CLEAR_LINE);
    statusShown = false;
  };

  const drawStatus = (): void => {
    if (!tty) return;
    const running = current ? `  ${current.id}${currentExchanges ? ` (${plural(currentExchanges, 'request')})` : ''}` : progress ? `  ${progress}` : '';
    let line = `[${Math.min(done + (current ? 1 : 0), total)}/${total}] ${counts.passed} passed, ${counts.failed} failed, ${plural(counts.warnings, 'warning')}, ${counts.skipped} skipped${running}`;
    // A line wider than the terminal wraps, and \r would then rewrite only its last row.
    const width = stream.columns ?? 80;
    if (line.length > width - 1) line = `${line.slice(0, Math.max(0, width - 2))}…`;
    stream.write(`${CLEAR_LINE}${paint('2', line)}`);
    statusShown = true;
  };

  const caseLines = (r: CaseResult): string => {
    // Messages and bodies may quote the server: no control character reaches the terminal.
    const lines = visibleControls(r.message.replace(/\r?\n|\r/g, '\n').replace(/\t/g, '  ')).split('\n');
    const head =
      `${paint(COLOUR[r.outcome], LABEL[r.outcome])}  ${r.level.padEnd(8)}${r.id.padEnd(idWidth)}  (${Math.round(r.durationMs)} ms)` +
      (lines[0] ? `  ${lines[0]}` : '');
    const out = [head, ...lines.slice(1).map((l) => `${INDENT}${l}`)];
    if (r.outcome === 'failed' || r.outcome === 'warning') out.push(...failureDetail(r));
    return `${out.join('\n')}\n`;
  };

  /** The exchanges a failure or warning was on, in short, with why and a reproduction; the file reports hold all. */
  const failureDetail = (r: CaseResult): string[] => {
    const dim = (line: string): string => paint('2', `${INDENT}${visibleControls(line)}`);
    const failed = failedExchanges(r.exchanges);
    if (failed.length === 0) {
      // The case named none: the exchange it ended on.
      const last = r.exchanges.at(-1);
      if (!last) return [];
      const e = redactExchange(last);
      const of = r.exchanges.length > 1 ? ` [last of ${r.exchanges.length} requests]` : '';
      const out = [dim(`${exchangeLine(e)}${of}`)];
      if (e.response && e.response.body !== '') out.push(dim(truncate(e.response.body, BODY_LIMIT).replace(/[\t\r\n]+/g, ' ')));
      return out;
    }
    // One exchange per cause (up to SHOWN_FAILURES): the same why twice tells nothing new.
    const shown: RecordedExchange[] = [];
    for (const e of failed) {
      if (shown.length >= SHOWN_FAILURES) break;
      if (!shown.some((x) => x.why === e.why)) shown.push(e);
    }
    const out: string[] = [];
    for (const raw of shown) {
      const e = redactExchange(raw);
      const which = `[failed on ${failed.length > 1 ? `${failed.indexOf(raw) + 1} of ${failed.length}, ` : ''}request ${r.exchanges.indexOf(raw) + 1} of ${r.exchanges.length}]`;
      out.push(dim(`${exchangeLine(e)} ${which}`));
      if (e.response) out.push(dim(`body: ${visibleBody(e.response.body, BODY_LIMIT)}`));
      for (const line of failureLines(e)) out.push(dim(line));
    }
    const rest = failed.length - shown.length;
    if (rest > 0)
      out.push(
        dim(`... and ${rest} more failing request${rest === 1 ? '' : 's'}${shown.length === 1 ? ' with the same why' : ''}: every one is in the file reports`),
      );
    return out;
  };

  return {
    onRunStart(run: RunInfo) {
      total = run.cases.length;
      idWidth = Math.max(0, ...run.cases.map((c) => c.id.length));
      const kind = run.kind ?? 'conformance';
      stream.write(`${run.tool.name} ${run.tool.version} ${kind}: ${plural(total, kind === 'fuzz' ? 'invariant' : 'case')} against ${redactUrl(run.server)}\n`);
      drawStatus();
    },
    onCaseStart(info: CaseInfo) {
      current = info;
      currentExchanges = 0;
      drawStatus();
    },
    onExchange() {
      currentExchanges += 1;
      drawStatus();
    },
    onCaseEnd(result: CaseResult) {
      done += 1;
      current = undefined;
      if (result.outcome === 'warning') counts.warnings += 1;
      else counts[result.outcome] += 1;
      idWidth = Math.max(idWidth, result.id.length);
      clearStatus();
      stream.write(caseLines(result));
      drawStatus();
    },
    onProgress(p: Progress) {
      progress = visibleControls(p.text);
      drawStatus();
    },
    onRunEnd(report: RunReport) {
      clearStatus();
      // What the run says once: a root cause shared by many failures, weak keys.
      for (const note of report.notes ?? []) stream.write(`${paint('1', 'note:')} ${visibleControls(note)}\n`);
      const line = summaryLine(report.summary, report.durationMs);
      stream.write(`${color ? `\u001b[1m${paint(report.summary.failed > 0 ? '31' : '32', line)}` : line}\n`);
    },
  };
}

import type { CaseInfo, CaseResult, Progress, RecordedExchange, Reporter, RunInfo, RunReport } from './events.js';

/** A reporter with a name for the one stderr line that says it broke. */
export interface NamedReporter {
  name: string;
  reporter: Reporter;
}

export interface MultiplexOptions {
  /** Where the one line about a broken reporter goes (default process.stderr). */
  errors?: { write(text: string): unknown };
}

/**
 * Fans every event out to every reporter. A reporter that throws (or whose onRunEnd
 * rejects) is reported once on stderr and dropped; the run and the other reporters go on.
 */
export interface MultiplexedReporter extends Reporter {
  /** The names of the reporters dropped so far: a report that was not written makes the run's exit code non-zero. */
  readonly dropped: readonly string[];
}

export function multiplex(reporters: NamedReporter[], options: MultiplexOptions = {}): MultiplexedReporter {
  const errors = options.errors ?? process.stderr;
  const live = new Set(reporters);
  const dropped: string[] = [];

  const drop = (entry: NamedReporter, event: string, err: unknown): void => {
    if (!live.delete(entry)) return;
    dropped.push(entry.name);
    const cause = err instanceof Error ? err.message : String(err);
    errors.write(`cmcard: ${entry.name} failed in ${event} and was dropped: ${cause.split('\n')[0]}\n`);
  };

  const each = (event: string, call: (r: Reporter) => void): void => {
    for (const entry of [...live]) {
      try {
        call(entry.reporter);
      } catch (err) {
        drop(entry, event, err);
      }
    }
  };

  return {
    dropped,
    onRunStart: (run: RunInfo) => each('onRunStart', (r) => r.onRunStart?.(run)),
    onCaseStart: (info: CaseInfo) => each('onCaseStart', (r) => r.onCaseStart?.(info)),
    onExchange: (caseId: string, exchange: RecordedExchange) => each('onExchange', (r) => r.onExchange?.(caseId, exchange)),
    onCaseEnd: (result: CaseResult) => each('onCaseEnd', (r) => r.onCaseEnd?.(result)),
    onProgress: (progress: Progress) => each('onProgress', (r) => r.onProgress?.(progress)),
    async onRunEnd(report: RunReport) {
      // One after another, in the order given: createReporter puts the console last, so
      // its summary closes the output after any line about a report that could not be written.
      for (const entry of [...live]) {
        try {
          await entry.reporter.onRunEnd?.(report);
        } catch (err) {
          drop(entry, 'onRunEnd', err);
        }
      }
    },
  };
}

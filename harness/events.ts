/**
 * What the conformance engine tells the world while it runs. The engine emits these and
 * never knows the report formats; each reporter consumes them (after Playwright's
 * reporter API and Schemathesis' event stream).
 */

export type Level = 'MUST' | 'SHOULD' | 'MAY';
export type Outcome = 'passed' | 'failed' | 'warning' | 'skipped';

/** One HTTP request and what came back, credentials already redacted. */
export interface RecordedExchange {
  request: { method: string; url: string; headers: Record<string, string>; body?: string };
  /** Absent when no response came (timeout, refused, ...): see `error`. */
  response?: { status: number; headers: Record<string, string>; body: string };
  error?: string;
  durationMs: number;
  /** Set on the exchange(s) the case failed on: every report marks them. */
  failed?: boolean;
  /** With `failed`: why this answer fails the case, one line. */
  why?: string;
  /** With `failed`: a copyable command that sends the same request, credentials as `${ENV}` placeholders. */
  reproduce?: string;
}

export interface CaseInfo {
  id: string;
  title: string;
  level: Level;
}

export interface CaseResult extends CaseInfo {
  outcome: Outcome;
  /** One line or a few: why it passed, failed, warned or was skipped. */
  message: string;
  durationMs: number;
  exchanges: RecordedExchange[];
}

export interface RunInfo {
  tool: { name: string; version: string };
  /** What ran: the conformance cases (the default when absent) or `cmcard fuzz`, whose cases are its invariants. */
  kind?: 'conformance' | 'fuzz';
  /** The server's origin, e.g. http://127.0.0.1:41234. */
  server: string;
  startedAt: string;
  /** The cases that will run, in order (after --grep). */
  cases: CaseInfo[];
}

export interface RunSummary {
  passed: number;
  failed: number;
  warnings: number;
  skipped: number;
}

export interface RunReport extends RunInfo {
  durationMs: number;
  summary: RunSummary;
  results: CaseResult[];
  /**
   * What the run as a whole says, each once: a likely root cause shared by several failed
   * cases (every call 401, every 200 body unquoted), every configured key DES-weak.
   * Absent when there is nothing to say.
   */
  notes?: string[];
}

/** A long run's headway between case events (e.g. `412/2000 sequences, 3801 steps`), for a live status line. */
export interface Progress {
  text: string;
}

/**
 * A reporter: every method optional. A reporter that throws is reported once on stderr
 * and dropped from the rest of the run; it never breaks the run or the other reporters.
 */
export interface Reporter {
  onRunStart?(run: RunInfo): void;
  onCaseStart?(info: CaseInfo): void;
  onExchange?(caseId: string, exchange: RecordedExchange): void;
  onCaseEnd?(result: CaseResult): void;
  /** Headway of a long run; a reporter may ignore it (only the console shows it, on a TTY). */
  onProgress?(progress: Progress): void;
  /** May write files; the run waits for it. */
  onRunEnd?(report: RunReport): void | Promise<void>;
}

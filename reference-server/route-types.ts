// The shapes a route and its handler work with, and the helpers that build a Reply.
import type { Principal } from './auth.js';
import type { Role } from './model.js';
import type { Store } from './store.js';

/** Where one audit row points: filled in by the pipeline and the handler as ids become known. */
export interface AuditTarget {
  reqid?: string | null;
  scid?: string | null;
  cardid?: string | null;
  /** A short non-secret note for the audit row (errors put their message here). */
  detail?: string | null;
}

/** One parsed request as a handler sees it. */
export interface Call {
  params: Record<string, string | undefined>;
  /** The raw query string, without the `?`. */
  rawQuery: string;
  /** The parsed JSON body; undefined when there was none. */
  body: unknown;
  principal: Principal;
  correlationId: string;
  audit: AuditTarget;
  store: Store;
}

export interface Reply {
  status: number;
  /** Already serialized JSON; absent for 204. */
  json?: string;
  headers?: Record<string, string>;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface Route {
  method: Method;
  /** Relative to the CM base path. */
  path: string;
  /** The role the caller needs, or 'any' for any authenticated caller. */
  role: Role | 'any';
  /** What the role check says the caller may not do, e.g. "obtain admin responses". */
  what: string;
  /**
   * Set on routes whose every call goes to the audit table (the name of the action). An
   * audited GET handler must not write: its row is committed after it, with others.
   */
  audit?: string;
  /** Whether the route takes a JSON body. */
  body?: boolean;
  handle(call: Call): Reply;
}

export function json(status: number, value: unknown, headers?: Record<string, string>): Reply {
  return headers ? { status, json: JSON.stringify(value), headers } : { status, json: JSON.stringify(value) };
}

export const NO_CONTENT: Reply = { status: 204 };

import Database from 'better-sqlite3';
import { hash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Role, SmartcardStatus } from './model.js';

/**
 * The addon's own file, found once. Left to itself better-sqlite3 finds it through the
 * `bindings` package, which tries a dozen paths and costs a few milliseconds of every
 * start; where the file is not at its usual place (another build layout), that search runs.
 */
let nativeBinding: string | null | undefined;
function addonFile(): string | null {
  if (nativeBinding === undefined) {
    try {
      nativeBinding = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
    } catch {
      nativeBinding = null;
    }
  }
  return nativeBinding;
}

/** Schema version kept in `meta`; a file written by another version is refused rather than misread. */
const SCHEMA_VERSION = '1';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS templates (
  uuid TEXT PRIMARY KEY, name TEXT NOT NULL, default_admin_key BLOB NOT NULL,
  diversify INTEGER NOT NULL, diversification_secret BLOB);
CREATE TABLE IF NOT EXISTS requests (
  uuid TEXT PRIMARY KEY, type INTEGER NOT NULL, status INTEGER NOT NULL,
  template_uuid TEXT NOT NULL REFERENCES templates(uuid), comment TEXT, data_collection TEXT,
  priority INTEGER NOT NULL DEFAULT 0, originator TEXT, submitted TEXT NOT NULL, completed TEXT,
  old_smartcard_uuid TEXT, new_smartcard_uuid TEXT);
CREATE TABLE IF NOT EXISTS smartcards (
  uuid TEXT PRIMARY KEY, cardid TEXT NOT NULL, atr TEXT, template_uuid TEXT NOT NULL REFERENCES templates(uuid),
  status TEXT NOT NULL, base_csp_admin_key INTEGER NOT NULL, diversified_key BLOB, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS smartcards_cardid ON smartcards(cardid);
CREATE TABLE IF NOT EXISTS request_smartcards (
  request_uuid TEXT NOT NULL REFERENCES requests(uuid), smartcard_uuid TEXT NOT NULL REFERENCES smartcards(uuid),
  PRIMARY KEY (request_uuid, smartcard_uuid)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS principals (
  name TEXT PRIMARY KEY, token_sha256 BLOB NOT NULL UNIQUE, roles TEXT NOT NULL, loopback_only INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, principal TEXT, action TEXT NOT NULL,
  reqid TEXT, scid TEXT, cardid TEXT, status INTEGER NOT NULL, outcome TEXT NOT NULL,
  correlation_id TEXT NOT NULL, detail TEXT);
CREATE TABLE IF NOT EXISTS audit_counts (outcome TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
`;

/** Audit rows an in-memory store keeps unless told otherwise (about 2.4 MB of database); a file keeps all. */
export const DEFAULT_MEMORY_AUDIT_ROWS = 10_000;
/** Most audit rows one commit deletes. */
const AUDIT_PRUNE_BATCH = 10_000;

export interface TemplateRow {
  uuid: string;
  name: string;
  defaultAdminKey: Buffer;
  diversify: boolean;
  diversificationSecret: Buffer | null;
}

export interface RequestRow {
  uuid: string;
  type: number;
  status: number;
  templateUuid: string;
  comment: string | null;
  dataCollection: string | null;
  priority: number;
  originator: string | null;
  submitted: string;
  completed: string | null;
  oldSmartcardUuid: string | null;
  newSmartcardUuid: string | null;
}

export interface SmartcardRow {
  uuid: string;
  cardid: string;
  atr: string | null;
  templateUuid: string;
  status: SmartcardStatus;
  baseCspAdminKey: boolean;
  diversifiedKey: Buffer | null;
  created: string;
  /** The requests this card belongs to. */
  requestUuids: string[];
}

export interface PrincipalRow {
  name: string;
  roles: Role[];
  loopbackOnly: boolean;
}

/** Everything the authenticationresponse and diversifiedkey endpoints need, in one lookup. */
export interface CardKeyContext {
  requestStatus: number;
  /** null when the smart card does not belong to the request (or does not exist). */
  card: null | {
    cardid: string;
    status: SmartcardStatus;
    baseCspAdminKey: boolean;
    storedDiversifiedKey: Buffer | null;
    defaultAdminKey: Buffer;
    diversify: boolean;
    diversificationSecret: Buffer | null;
  };
}

export type AuditOutcome = 'granted' | 'refused' | 'rejected' | 'not-found' | 'no-key' | 'error';

export interface AuditEntry {
  at?: string;
  principal: string | null;
  action: string;
  reqid?: string | null;
  scid?: string | null;
  cardid?: string | null;
  status: number;
  outcome: AuditOutcome;
  correlationId: string;
  /** A short, non-secret note, e.g. the refusal reason. Never key bytes. */
  detail?: string | null;
}

type AuditTuple = [string, string | null, string, string | null, string | null, string | null, number, string, string, string | null];

export interface AuditRecord extends Required<Omit<AuditEntry, 'at'>> {
  id: number;
  at: string;
}

/** Exact counts of every row ever audited, including the rows pruned since. */
export interface AuditCounts {
  /** Rows written in all. */
  total: number;
  /** Rows still in the table (the newest ones). */
  kept: number;
  byOutcome: Record<AuditOutcome, number>;
}

export interface StoreOptions {
  /** Open an existing file for reading only (e.g. to print its audit trail). */
  readonly?: boolean;
  /**
   * Audit rows kept: the newest N, older ones deleted as new ones are written (counts stay
   * exact). null keeps every row. Default: DEFAULT_MEMORY_AUDIT_ROWS in memory, null for a file.
   */
  auditRows?: number | null;
}

const OUTCOMES: readonly AuditOutcome[] = ['granted', 'refused', 'rejected', 'not-found', 'no-key', 'error'];

export function tokenDigest(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/**
 * The server's data in SQLite: in memory by default, or a file (WAL, synchronous=NORMAL:
 * a crash loses at most the last transactions, never corrupts). Every query is a prepared
 * statement made once. Write only through these methods: they invalidate the read caches.
 */
export class Store {
  readonly db: Database.Database;
  readonly file: string | null;
  private readonly q;
  private principalsVersion = 0;
  /** Bumped by every write, so read caches know when to drop what they hold. */
  private writes = 0;
  private readonly keyContextCache = new Map<string, CardKeyContext | undefined>();
  private keyContextGeneration = 0;
  /** Made once: a transaction function per call would cost a closure and three wrappers. */
  private readonly inTransaction: (fn: () => unknown) => unknown;
  private readonly insertAuditRows: (rows: AuditTuple[]) => void;
  /** The newest rows kept, or null for all. */
  readonly auditRows: number | null;
  private auditPending: { row: AuditTuple; done: (err: unknown) => void }[] = [];
  private auditFlushScheduled = false;

  constructor(file?: string, options: StoreOptions = {}) {
    this.file = file ?? null;
    const limit = options.auditRows === undefined ? (file === undefined ? DEFAULT_MEMORY_AUDIT_ROWS : null) : options.auditRows;
    if (limit !== null && !(Number.isSafeInteger(limit) && limit >= 1)) throw new RangeError(`auditRows must be a whole number >= 1 or null, got ${limit}`);
    this.auditRows = limit;
    const readonly = options.readonly === true && file !== undefined;
    const addon = addonFile();
    this.db = new Database(file ?? ':memory:', {
      ...(readonly ? { readonly: true, fileMustExist: true } : {}),
      ...(addon !== null ? { nativeBinding: addon } : {}),
    });
    try {
      if (!readonly) {
        if (file) {
          this.db.pragma('journal_mode = WAL');
          this.db.pragma('synchronous = NORMAL');
        }
        this.db.pragma('foreign_keys = ON');
        this.db.exec(SCHEMA);
        // A file from before the counts were kept: every row it ever had is still in it.
        if (this.db.prepare('SELECT 1 FROM audit_counts LIMIT 1').get() === undefined) {
          this.db.exec('INSERT INTO audit_counts (outcome, n) SELECT outcome, count(*) FROM audit GROUP BY outcome');
        }
      }
      const version = this.db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'schema'`).get();
      if (!version && !readonly) this.db.prepare(`INSERT INTO meta (key, value) VALUES ('schema', ?)`).run(SCHEMA_VERSION);
      else if (version?.value !== SCHEMA_VERSION) {
        throw new Error(`database ${file} has schema version ${version?.value ?? '(none)'}, this cmcard reads version ${SCHEMA_VERSION}`);
      }
    } catch (err) {
      this.db.close();
      throw err;
    }
    const db = this.db;
    this.q = {
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      upsertTemplate: db.prepare(`INSERT INTO templates (uuid, name, default_admin_key, diversify, diversification_secret)
        VALUES (@uuid, @name, @defaultAdminKey, @diversify, @diversificationSecret)
        ON CONFLICT(uuid) DO UPDATE SET name = excluded.name, default_admin_key = excluded.default_admin_key,
          diversify = excluded.diversify, diversification_secret = excluded.diversification_secret`),
      getTemplate: db.prepare('SELECT * FROM templates WHERE uuid = ?'),
      listTemplates: db.prepare('SELECT * FROM templates ORDER BY name, uuid'),
      upsertRequest: db.prepare(`INSERT INTO requests (uuid, type, status, template_uuid, comment, data_collection, priority,
          originator, submitted, completed, old_smartcard_uuid, new_smartcard_uuid)
        VALUES (@uuid, @type, @status, @templateUuid, @comment, @dataCollection, @priority, @originator, @submitted,
          @completed, @oldSmartcardUuid, @newSmartcardUuid)
        ON CONFLICT(uuid) DO UPDATE SET type = excluded.type, status = excluded.status, template_uuid = excluded.template_uuid,
          comment = excluded.comment, data_collection = excluded.data_collection, priority = excluded.priority,
          originator = excluded.originator, completed = excluded.completed,
          old_smartcard_uuid = excluded.old_smartcard_uuid, new_smartcard_uuid = excluded.new_smartcard_uuid`),
      getRequest: db.prepare('SELECT * FROM requests WHERE uuid = ?'),
      setRequestStatus: db.prepare('UPDATE requests SET status = ?, completed = ? WHERE uuid = ?'),
      setRequestNewCard: db.prepare('UPDATE requests SET new_smartcard_uuid = ? WHERE uuid = ?'),
      upsertSmartcard: db.prepare(`INSERT INTO smartcards (uuid, cardid, atr, template_uuid, status, base_csp_admin_key, diversified_key, created)
        VALUES (@uuid, @cardid, @atr, @templateUuid, @status, @baseCspAdminKey, @diversifiedKey, @created)
        ON CONFLICT(uuid) DO UPDATE SET cardid = excluded.cardid, atr = excluded.atr, template_uuid = excluded.template_uuid,
          status = excluded.status, base_csp_admin_key = excluded.base_csp_admin_key, diversified_key = excluded.diversified_key`),
      getSmartcard: db.prepare('SELECT * FROM smartcards WHERE uuid = ?'),
      smartcardsByCardid: db.prepare('SELECT * FROM smartcards WHERE cardid = ? ORDER BY created, uuid'),
      setSmartcardStatus: db.prepare('UPDATE smartcards SET status = ? WHERE uuid = ?'),
      link: db.prepare('INSERT OR IGNORE INTO request_smartcards (request_uuid, smartcard_uuid) VALUES (?, ?)'),
      requestsOfCard: db.prepare<[string], { request_uuid: string }>(
        'SELECT request_uuid FROM request_smartcards WHERE smartcard_uuid = ? ORDER BY request_uuid',
      ),
      cardKeyContext: db.prepare(`SELECT r.status AS requestStatus, s.uuid AS scid, s.cardid, s.status AS cardStatus,
          s.base_csp_admin_key AS baseCspAdminKey, s.diversified_key AS storedDiversifiedKey,
          t.default_admin_key AS defaultAdminKey, t.diversify, t.diversification_secret AS diversificationSecret
        FROM requests r
        LEFT JOIN request_smartcards rs ON rs.request_uuid = r.uuid AND rs.smartcard_uuid = @scid
        LEFT JOIN smartcards s ON s.uuid = rs.smartcard_uuid
        LEFT JOIN templates t ON t.uuid = s.template_uuid
        WHERE r.uuid = @reqid`),
      upsertPrincipal: db.prepare(`INSERT INTO principals (name, token_sha256, roles, loopback_only) VALUES (?, ?, ?, ?)
        ON CONFLICT(name) DO UPDATE SET token_sha256 = excluded.token_sha256, roles = excluded.roles, loopback_only = excluded.loopback_only`),
      deletePrincipalByDigest: db.prepare('DELETE FROM principals WHERE token_sha256 = ? AND name <> ?'),
      principalByDigest: db.prepare<[Buffer], { name: string; roles: string; loopback_only: number }>(
        'SELECT name, roles, loopback_only FROM principals WHERE token_sha256 = ?',
      ),
      listPrincipals: db.prepare<[], { name: string; roles: string; loopback_only: number }>('SELECT name, roles, loopback_only FROM principals ORDER BY name'),
      insertAudit: db.prepare<AuditTuple>(`INSERT INTO audit (at, principal, action, reqid, scid, cardid, status, outcome, correlation_id, detail)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      listAudit: db.prepare('SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?'),
      countAudit: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM audit'),
      countAuditByOutcome: db.prepare<[], { outcome: string; n: number }>('SELECT outcome, count(*) AS n FROM audit GROUP BY outcome'),
    };
    // Absent only from a file of an older version opened read-only; its rows were never pruned.
    const counted = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_counts'`).get() !== undefined;
    this.auditCountStatements = counted
      ? {
          add: db.prepare('INSERT INTO audit_counts (outcome, n) VALUES (?, ?) ON CONFLICT(outcome) DO UPDATE SET n = n + excluded.n'),
          list: db.prepare<[], { outcome: string; n: number }>('SELECT outcome, n FROM audit_counts'),
        }
      : null;
    this.pruneAudit = db.prepare('DELETE FROM audit WHERE id <= ?');
    this.oldestAuditId = db.prepare<[], { id: number | null }>('SELECT min(id) AS id FROM audit').get()?.id ?? 0;
    if (!readonly && this.auditRows !== null) {
      // A file kept with a lower limit than before: prune it now, a batch per transaction.
      const last = db.prepare<[], { id: number | null }>('SELECT max(id) AS id FROM audit').get()?.id ?? 0;
      const prune = db.transaction(() => this.pruneAuditTo(last - this.auditRows!));
      while (prune()) {
        /* next batch */
      }
    }
    this.inTransaction = db.transaction((fn: () => unknown) => fn());
    const insert = this.q.insertAudit;
    this.insertAuditRows = db.transaction((rows: AuditTuple[]) => {
      let last = 0;
      const added = new Map<string, number>();
      for (const row of rows) {
        last = Number(insert.run(...row).lastInsertRowid);
        added.set(row[7], (added.get(row[7]) ?? 0) + 1);
      }
      this.afterAuditInsert(added, last);
    });
  }

  private readonly auditCountStatements: { add: Database.Statement<[string, number]>; list: Database.Statement<[], { outcome: string; n: number }> } | null;
  private readonly pruneAudit: Database.Statement<[number]>;
  /** The oldest audit id that may still be in the table (a lower bound is all pruning needs). */
  private oldestAuditId = 0;

  /**
   * In the inserting transaction: counts the new rows by outcome and, with a row limit,
   * deletes the rows that fell out of it. Ids grow by one per row (AUTOINCREMENT, nothing
   * else deletes), so "the newest N" is "id > last - N": a range delete on the key, at most
   * AUDIT_PRUNE_BATCH rows per commit so a file whose limit was lowered catches up in steps.
   */
  private afterAuditInsert(added: Map<string, number>, lastId: number): void {
    if (!this.auditCountStatements) throw new Error('this database was opened read-only');
    for (const [outcome, n] of added) this.auditCountStatements.add.run(outcome, n);
    if (this.auditRows !== null) this.pruneAuditTo(lastId - this.auditRows);
  }

  /** Deletes the rows with id <= upTo, at most one batch of them; true when some are left. */
  private pruneAuditTo(upTo: number): boolean {
    if (upTo < this.oldestAuditId) return false;
    const end = Math.min(upTo, this.oldestAuditId + AUDIT_PRUNE_BATCH - 1);
    this.pruneAudit.run(end);
    // If the transaction rolls back this runs ahead, and the next delete simply covers more.
    this.oldestAuditId = end + 1;
    return end < upTo;
  }

  getMeta(key: string): string | undefined {
    return this.q.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.q.setMeta.run(key, value);
  }

  /** Runs fn in one transaction (all or nothing); inside another one it is a savepoint. */
  transaction<T>(fn: () => T): T {
    return this.inTransaction(fn) as T;
  }

  upsertTemplate(t: TemplateRow): void {
    this.writes++;
    this.q.upsertTemplate.run({ ...t, diversify: t.diversify ? 1 : 0 });
  }

  getTemplate(uuid: string): TemplateRow | undefined {
    const r = this.q.getTemplate.get(uuid) as RawTemplate | undefined;
    return r && templateFromRow(r);
  }

  listTemplates(): TemplateRow[] {
    return (this.q.listTemplates.all() as RawTemplate[]).map(templateFromRow);
  }

  upsertRequest(r: RequestRow): void {
    this.writes++;
    this.q.upsertRequest.run(r);
  }

  getRequest(uuid: string): RequestRow | undefined {
    const r = this.q.getRequest.get(uuid) as RawRequest | undefined;
    return r && requestFromRow(r);
  }

  setRequestStatus(uuid: string, status: number, completed: string | null): boolean {
    this.writes++;
    return this.q.setRequestStatus.run(status, completed, uuid).changes > 0;
  }

  setRequestNewSmartcard(reqid: string, scid: string): void {
    this.writes++;
    this.q.setRequestNewCard.run(scid, reqid);
  }

  upsertSmartcard(s: Omit<SmartcardRow, 'requestUuids'>): void {
    this.writes++;
    this.q.upsertSmartcard.run({ ...s, baseCspAdminKey: s.baseCspAdminKey ? 1 : 0 });
  }

  getSmartcard(uuid: string): SmartcardRow | undefined {
    const r = this.q.getSmartcard.get(uuid) as RawSmartcard | undefined;
    return r && this.smartcardFromRow(r);
  }

  smartcardsByCardid(cardid: string): SmartcardRow[] {
    return (this.q.smartcardsByCardid.all(cardid) as RawSmartcard[]).map((r) => this.smartcardFromRow(r));
  }

  setSmartcardStatus(uuid: string, status: SmartcardStatus): boolean {
    this.writes++;
    return this.q.setSmartcardStatus.run(status, uuid).changes > 0;
  }

  /** Makes the smart card belong to the request (idempotent). */
  linkSmartcard(reqid: string, scid: string): void {
    this.writes++;
    this.q.link.run(reqid, scid);
  }

  /**
   * The hot path of the authenticationresponse endpoint. Answers are cached until the next write through this
   * Store (every mutation bumps a counter), so a busy help desk costs one SQLite lookup per
   * card, not per request.
   */
  cardKeyContext(reqid: string, scid: string): CardKeyContext | undefined {
    if (this.keyContextGeneration !== this.writes) {
      this.keyContextCache.clear();
      this.keyContextGeneration = this.writes;
    }
    const cacheKey = `${reqid} ${scid}`;
    if (this.keyContextCache.has(cacheKey)) return this.keyContextCache.get(cacheKey);
    const found = this.readCardKeyContext(reqid, scid);
    if (this.keyContextCache.size >= 10_000) this.keyContextCache.clear();
    this.keyContextCache.set(cacheKey, found);
    return found;
  }

  private readCardKeyContext(reqid: string, scid: string): CardKeyContext | undefined {
    const r = this.q.cardKeyContext.get({ reqid, scid }) as RawKeyContext | undefined;
    if (!r) return undefined;
    if (r.scid === null) return { requestStatus: r.requestStatus, card: null };
    return {
      requestStatus: r.requestStatus,
      card: {
        cardid: r.cardid,
        status: r.cardStatus as SmartcardStatus,
        baseCspAdminKey: r.baseCspAdminKey === 1,
        storedDiversifiedKey: r.storedDiversifiedKey,
        defaultAdminKey: r.defaultAdminKey,
        diversify: r.diversify === 1,
        diversificationSecret: r.diversificationSecret,
      },
    };
  }

  /** Adds or replaces a principal; its token is kept only as a SHA-256 digest. */
  upsertPrincipal(p: PrincipalRow & { token: string }): void {
    const digest = tokenDigest(p.token);
    this.transaction(() => {
      // A token identifies one principal: drop any other principal holding the same token.
      this.q.deletePrincipalByDigest.run(digest, p.name);
      this.q.upsertPrincipal.run(p.name, digest, JSON.stringify(p.roles), p.loopbackOnly ? 1 : 0);
    });
    this.principalsVersion++;
  }

  /** The principal whose token has this SHA-256 digest. */
  principalByDigest(digest: Buffer): PrincipalRow | undefined {
    const r = this.q.principalByDigest.get(digest);
    return r && { name: r.name, roles: JSON.parse(r.roles) as Role[], loopbackOnly: r.loopback_only === 1 };
  }

  listPrincipals(): PrincipalRow[] {
    return this.q.listPrincipals.all().map((r) => ({ name: r.name, roles: JSON.parse(r.roles) as Role[], loopbackOnly: r.loopback_only === 1 }));
  }

  /** Bumped whenever principals change, so callers can drop cached lookups. */
  get principalsGeneration(): number {
    return this.principalsVersion;
  }

  /** Writes one audit row now, in the caller's transaction if there is one. */
  appendAudit(e: AuditEntry): void {
    const row = auditTuple(e);
    this.transaction(() => {
      const id = Number(this.q.insertAudit.run(...row).lastInsertRowid);
      this.afterAuditInsert(new Map([[row[7], 1]]), id);
    });
  }

  /**
   * Group commit: the row is written with the other rows of this event-loop turn in one
   * transaction, then `done` is called: with null once the row is committed, with the
   * error when it could not be. Callers answer from `done`, so nothing is handed out before
   * its row is in the database, and a busy server pays one commit (one WAL write) per turn
   * instead of one per request.
   */
  commitAudit(e: AuditEntry, done: (err: unknown) => void): void {
    this.auditPending.push({ row: auditTuple(e), done });
    if (this.auditPending.length >= 512) this.flushAudit();
    else if (!this.auditFlushScheduled) {
      this.auditFlushScheduled = true;
      setImmediate(() => this.flushAudit());
    }
  }

  /** Commits the rows commitAudit collected and calls their callbacks. */
  flushAudit(): void {
    this.auditFlushScheduled = false;
    const batch = this.auditPending;
    if (batch.length === 0) return;
    this.auditPending = [];
    let error: unknown = null;
    try {
      if (!this.db.open) throw new Error('the database is closed');
      this.insertAuditRows(batch.map((b) => b.row));
    } catch (err) {
      error = err;
    }
    for (const b of batch) b.done(error);
  }

  /** Audit records after id `afterId`, oldest first, at most `limit`. */
  listAudit(afterId = 0, limit = 1_000_000): AuditRecord[] {
    this.flushAudit();
    return (this.q.listAudit.all(afterId, limit) as RawAudit[]).map((r) => ({
      id: r.id,
      at: r.at,
      principal: r.principal,
      action: r.action,
      reqid: r.reqid,
      scid: r.scid,
      cardid: r.cardid,
      status: r.status,
      outcome: r.outcome as AuditOutcome,
      correlationId: r.correlation_id,
      detail: r.detail,
    }));
  }

  /** Rows audited in all, pruned ones included (exact). */
  auditCount(): number {
    return this.auditCounts().total;
  }

  /** Exact counts of every row ever audited, and how many of them are still kept. */
  auditCounts(): AuditCounts {
    this.flushAudit();
    const byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<AuditOutcome, number>;
    const rows = this.auditCountStatements ? this.auditCountStatements.list.all() : this.q.countAuditByOutcome.all();
    for (const r of rows) byOutcome[r.outcome as AuditOutcome] = r.n;
    const total = rows.reduce((sum, r) => sum + r.n, 0);
    return { total, kept: this.q.countAudit.get()?.n ?? 0, byOutcome };
  }

  close(): void {
    if (!this.db.open) return;
    this.flushAudit();
    this.db.close();
  }

  private smartcardFromRow(r: RawSmartcard): SmartcardRow {
    return {
      uuid: r.uuid,
      cardid: r.cardid,
      atr: r.atr,
      templateUuid: r.template_uuid,
      status: r.status as SmartcardStatus,
      baseCspAdminKey: r.base_csp_admin_key === 1,
      diversifiedKey: r.diversified_key,
      created: r.created,
      requestUuids: this.q.requestsOfCard.all(r.uuid).map((x) => x.request_uuid),
    };
  }
}

interface RawTemplate {
  uuid: string;
  name: string;
  default_admin_key: Buffer;
  diversify: number;
  diversification_secret: Buffer | null;
}
interface RawRequest {
  uuid: string;
  type: number;
  status: number;
  template_uuid: string;
  comment: string | null;
  data_collection: string | null;
  priority: number;
  originator: string | null;
  submitted: string;
  completed: string | null;
  old_smartcard_uuid: string | null;
  new_smartcard_uuid: string | null;
}
interface RawSmartcard {
  uuid: string;
  cardid: string;
  atr: string | null;
  template_uuid: string;
  status: string;
  base_csp_admin_key: number;
  diversified_key: Buffer | null;
  created: string;
}
interface RawKeyContext {
  requestStatus: number;
  scid: string | null;
  cardid: string;
  cardStatus: string;
  baseCspAdminKey: number;
  storedDiversifiedKey: Buffer | null;
  defaultAdminKey: Buffer;
  diversify: number;
  diversificationSecret: Buffer | null;
}
interface RawAudit {
  id: number;
  at: string;
  principal: string | null;
  action: string;
  reqid: string | null;
  scid: string | null;
  cardid: string | null;
  status: number;
  outcome: string;
  correlation_id: string;
  detail: string | null;
}

/** An audit entry as the positional tuple the prepared INSERT binds (the cheapest shape to queue and bind). */
function auditTuple(e: AuditEntry): AuditTuple {
  return [
    e.at ?? new Date().toISOString(),
    e.principal,
    e.action,
    e.reqid ?? null,
    e.scid ?? null,
    e.cardid ?? null,
    e.status,
    e.outcome,
    e.correlationId,
    e.detail ?? null,
  ];
}

function templateFromRow(r: RawTemplate): TemplateRow {
  return { uuid: r.uuid, name: r.name, defaultAdminKey: r.default_admin_key, diversify: r.diversify === 1, diversificationSecret: r.diversification_secret };
}

function requestFromRow(r: RawRequest): RequestRow {
  return {
    uuid: r.uuid,
    type: r.type,
    status: r.status,
    templateUuid: r.template_uuid,
    comment: r.comment,
    dataCollection: r.data_collection,
    priority: r.priority,
    originator: r.originator,
    submitted: r.submitted,
    completed: r.completed,
    oldSmartcardUuid: r.old_smartcard_uuid,
    newSmartcardUuid: r.new_smartcard_uuid,
  };
}

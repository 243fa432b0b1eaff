import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSeed, describeSeed, startReferenceServer } from '../../reference-server/index.js';
import { EX, HELPDESK, JSON_HEADERS, USER, errorBody, raw, responsePath } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'cmcard-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const API = '/CertificateManagement/api/v1.0';

describe('persistence with a database file', () => {
  it('keeps requests, their status and the audit trail across a restart, and does not re-seed', async () => {
    const dbFile = join(dir, 'cm.db');
    const first = await startReferenceServer({ dbFile, quiet: true });
    const created = await raw(first.url, `${API}/requests`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ type: 'Enroll', profiletemplateuuid: EX.template, comment: 'survives' }),
    });
    const reqid = /([0-9a-f-]{36})"$/.exec(created.body)![1]!;
    expect((await raw(first.url, `${API}/requests/${EX.reqid}`, { method: 'PUT', headers: JSON_HEADERS, body: '{"status":"Canceled"}' })).status).toBe(200);
    const auditBefore = first.store.listAudit();
    await first.close();

    const second = await startReferenceServer({ dbFile, quiet: true });
    try {
      expect(second.url).not.toBe('');
      const read = await raw(second.url, `${API}/requests/${reqid}`, { headers: HELPDESK });
      expect(read.status).toBe(200);
      expect(JSON.parse(read.body)).toMatchObject({ Uuid: reqid, Comment: 'survives', Status: 3 });
      // The seed was not applied again: the canceled example request stays canceled.
      const example = await raw(second.url, `${API}/requests/${EX.reqid}`, { headers: HELPDESK });
      expect(JSON.parse(example.body)).toMatchObject({ Status: 6 });
      expect(second.store.listAudit()).toEqual(auditBefore);
    } finally {
      await second.close();
    }
  });

  it('refuses a file that is not a cmcard database', async () => {
    const bogus = join(dir, 'bogus.db');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(bogus, 'this is not sqlite at all, just text'.repeat(50));
    await expect(startReferenceServer({ dbFile: bogus, quiet: true })).rejects.toMatchObject({
      code: 'SQLITE_NOTADB',
      message: expect.stringMatching(/not a database/),
    });
  });
});

describe('the audit trail', () => {
  it('records who obtained which response or key, every refusal, and never key or response bytes', async () => {
    const server = await startReferenceServer({ quiet: true });
    try {
      const ok = `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`;
      await raw(server.url, responsePath(EX.reqid, EX.scid, ok), { headers: HELPDESK });
      await raw(server.url, responsePath(EX.reqid, EX.scid, ok.replace('False', 'true')), { headers: HELPDESK });
      await raw(server.url, `${API}/requests/${EX.reqid}/smartcards/${EX.scid}/diversifiedkey?cardid=${EX.cardid}`, { headers: HELPDESK });
      await raw(server.url, responsePath(EX.reqid, EX.scid, ok), { headers: USER });
      await raw(server.url, responsePath(EX.reqid, EX.scid, ok), {});
      await raw(server.url, responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=AAAA&diversified=False`), { headers: HELPDESK });
      await raw(server.url, responsePath(EX.reqid, '00000000-0000-0000-0000-000000000002', ok), { headers: HELPDESK });
      await raw(server.url, `${API}/profiletemplates/${EX.template}/configuration/smartcards`, { headers: HELPDESK });

      const rows = server.store.listAudit();
      const summary = rows.map((r) => [r.principal, r.action, r.status, r.outcome]);
      expect(summary).toEqual([
        ['demo-helpdesk', 'authenticationresponse', 200, 'granted'],
        ['demo-helpdesk', 'authenticationresponse', 200, 'granted'],
        ['demo-helpdesk', 'diversifiedkey', 200, 'granted'],
        ['demo-user', 'authenticationresponse', 403, 'refused'],
        [null, 'authenticationresponse', 401, 'refused'],
        ['demo-helpdesk', 'authenticationresponse', 400, 'rejected'],
        ['demo-helpdesk', 'authenticationresponse', 404, 'not-found'],
        ['demo-helpdesk', 'template-configuration', 200, 'granted'],
      ]);
      expect(rows[0]).toMatchObject({ reqid: EX.reqid, scid: EX.scid, cardid: EX.cardid });
      expect(rows[7]!.detail).toContain(EX.template);
      for (const r of rows) {
        expect(r.at).toMatch(/^\d{4}-\d\d-\d\dT/);
        expect(r.correlationId).toMatch(/^[0-9a-f-]{36}$/);
      }
      // No key, response or token bytes anywhere in the table, in any encoding.
      const dump = JSON.stringify(server.store.db.prepare('SELECT * FROM audit').all());
      const secrets = [
        'F0Zudm4wPLY=',
        'xdUoVecIEg0=',
        'mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI',
        '981540f87a2907f81cfba16e2ac42ac7e397d3584ad56408',
        '17466e766e303cb6',
        '00'.repeat(24),
        ...describeSeed(defaultSeed())
          .cards.flatMap((c) => [c.adminKey, c.diversifiedKey ?? 'none'])
          .filter((k) => k !== '00'.repeat(24)),
      ];
      for (const s of secrets) expect(dump.toLowerCase()).not.toContain(s.toLowerCase());
    } finally {
      await server.close();
    }
  });

  it('hands out no response or key whose audit row cannot be written, and keeps no change without its row', async () => {
    const server = await startReferenceServer({ quiet: true });
    try {
      // The disk is full, as far as the audit table knows.
      server.store.db.exec(`CREATE TEMP TRIGGER audit_fails BEFORE INSERT ON main.audit BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
      const ok = `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`;
      const requestsBefore = server.store.db.prepare('SELECT count(*) AS n FROM requests').get();
      const answers = [
        await raw(server.url, responsePath(EX.reqid, EX.scid, ok), { headers: HELPDESK }),
        await raw(server.url, `${API}/requests/${EX.reqid}/smartcards/${EX.scid}/diversifiedkey?cardid=${EX.cardid}`, { headers: HELPDESK }),
        await raw(server.url, `${API}/profiletemplates/${EX.template}/configuration/smartcards`, { headers: HELPDESK }),
        await raw(server.url, `${API}/requests`, {
          method: 'POST',
          headers: JSON_HEADERS,
          body: JSON.stringify({ type: 'Enroll', profiletemplateuuid: EX.template }),
        }),
        await raw(server.url, responsePath(EX.reqid, EX.scid, ok), { headers: USER }),
      ];
      for (const r of answers) {
        expect(r.status).toBe(500);
        expect(errorBody(r).Message).toMatch(/internal error/);
        for (const secret of ['F0Zudm4wPLY=', 'mBVA+HopB/gc+6FuKsQqx+OX01hK1WQI', '00'.repeat(24), 'api/v1.0/requests/']) expect(r.body).not.toContain(secret);
      }
      // The Enroll request was rolled back with its row.
      expect(server.store.db.prepare('SELECT count(*) AS n FROM requests').get()).toEqual(requestsBefore);
      expect(server.store.auditCount()).toBe(0);

      server.store.db.exec('DROP TRIGGER audit_fails');
      expect((await raw(server.url, responsePath(EX.reqid, EX.scid, ok), { headers: HELPDESK })).body).toBe('"F0Zudm4wPLY="');
      expect(server.store.listAudit().map((r) => [r.action, r.status])).toEqual([['authenticationresponse', 200]]);
    } finally {
      await server.close();
    }
  });
});

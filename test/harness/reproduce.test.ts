import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { RecordedExchange } from '../../harness/events.js';
import { parseConfig } from '../../harness/config.js';
import { Redactor } from '../../harness/redact.js';
import { reproducerFor } from '../../harness/reproduce.js';
import { runConformance } from '../../harness/runner.js';
import type { RawExchange } from '../../harness/wire/cm-client.js';
import { BROKEN_SERVER_CARDS, startBrokenServer } from './support/broken-server.js';

const URL =
  'http://127.0.0.1:8080/CertificateManagement/api/v1.0/requests/r/smartcards/s/authenticationresponse?cardid=c&challenge=1hFD%2Bcz%2F0so%3D&diversified=False';

function exchange(headers: Record<string, string | readonly string[]>, caller: RawExchange['caller'] = 'explicit'): [RecordedExchange, RawExchange] {
  const recorded: RecordedExchange = { request: { method: 'GET', url: URL, headers: {} }, response: { status: 401, headers: {}, body: '' }, durationMs: 1 };
  return [recorded, { caller, request: { method: 'GET', path: URL.slice('http://127.0.0.1:8080'.length), headers } }];
}

describe('curl reproductions', () => {
  const config = parseConfig(
    {
      server: 'http://127.0.0.1:8080',
      headers: { Authorization: 'Bearer ${CM_TEST_TOKEN}', 'X-Trace': 'abc' },
      forbiddenHeaders: { Authorization: 'Bearer user-token-1234', 'X-Api-Key': 'key-5678' },
      cards: [{ reqid: BROKEN_SERVER_CARDS[1]!.reqid, scid: BROKEN_SERVER_CARDS[1]!.scid, cardid: BROKEN_SERVER_CARDS[1]!.cardid, adminKey: '00'.repeat(24) }],
    },
    'cm.json',
    { env: { CM_TEST_TOKEN: 'helpdesk-token-9876' } },
  );
  const redactor = Redactor.forHeaders(config.headers, config.forbiddenHeaders);
  const curl = (headers: Record<string, string | readonly string[]>): string => reproducerFor(config, redactor).curl(...exchange(headers));

  it("writes the config's own variable where the file used one, a named variable elsewhere, and never a credential", () => {
    const line = curl({ Authorization: 'Bearer helpdesk-token-9876', 'X-Trace': 'abc', Accept: 'application/json' });
    expect(line).toBe(`curl -sS -i -g '${URL}' -H "Authorization: Bearer \${CM_TEST_TOKEN}" -H "X-Trace: \${CM_X_TRACE}" -H 'Accept: application/json'`);
    const forbidden = curl({ Authorization: 'Bearer user-token-1234', 'X-Api-Key': 'key-5678' });
    expect(forbidden).toContain('-H "Authorization: Bearer ${CM_FORBIDDEN_TOKEN}" -H "X-Api-Key: ${CM_FORBIDDEN_X_API_KEY}"');
    for (const secret of ['helpdesk-token-9876', 'user-token-1234', 'key-5678']) expect(line + forbidden).not.toContain(secret);
  });

  it('writes a credential cut short, under another scheme, sent twice or empty so the shell rebuilds it', () => {
    expect(curl({ Authorization: 'Bearer helpdesk-token-98' })).toContain('-H "Authorization: Bearer ${CM_TEST_TOKEN%??}"');
    expect(curl({ Authorization: 'Cmcard-Unknown helpdesk-token-9876' })).toContain('-H "Authorization: Cmcard-Unknown ${CM_TEST_TOKEN}"');
    expect(curl({ Authorization: ['Bearer helpdesk-token-9876', 'Bearer user-token-1234'] })).toContain(
      '-H "Authorization: Bearer ${CM_TEST_TOKEN}" -H "Authorization: Bearer ${CM_FORBIDDEN_TOKEN}"',
    );
    expect(curl({ Authorization: '' })).toContain("-H 'Authorization;'");
    // Not a credential: as sent, quoted for the shell.
    expect(curl({ Authorization: "Bearer it's-$garbage" })).toContain(`-H 'Authorization: Bearer it'\\''s-$garbage'`);
  });

  describe("a caller that authenticates with a mechanism gets curl's own flags, not the one-time Authorization it sent", () => {
    const mechanisms = (doc: Record<string, unknown>, env: Record<string, string> = {}) => {
      const c = parseConfig(
        {
          server: 'http://127.0.0.1:8080',
          cards: [
            { reqid: BROKEN_SERVER_CARDS[1]!.reqid, scid: BROKEN_SERVER_CARDS[1]!.scid, cardid: BROKEN_SERVER_CARDS[1]!.cardid, adminKey: '00'.repeat(24) },
          ],
          ...doc,
        },
        'cm.json',
        { env },
      );
      return (headers: Record<string, string>, caller: RawExchange['caller']) =>
        reproducerFor(c, Redactor.forHeaders(c.headers, c.forbiddenHeaders)).curl(...exchange(headers, caller));
    };

    it('Kerberos: --negotiate -u : (the ticket cache), other headers kept', () => {
      const curl = mechanisms({ auth: { type: 'negotiate' }, headers: { 'X-Api-Key': 'apim-key-1234' } });
      const line = curl({ Authorization: 'Negotiate YIIGxAYGKwYBBQUCoIIGuDCCBrSg', 'X-Api-Key': 'apim-key-1234' }, 'rights');
      expect(line).toBe(`curl -sS -i -g '${URL}' -H "X-Api-Key: \${CM_X_API_KEY}" --negotiate -u :`);
    });

    it("NTLM: --ntlm with DOMAIN\\user and the password as the config's own variable, or one named for the caller", () => {
      const curl = mechanisms(
        {
          auth: { type: 'ntlm', username: 'CONTOSO\\alice', password: '${ALICE_PW}' },
          forbiddenAuth: { type: 'ntlm', username: 'bob', domain: 'CONTOSO', password: 'bobs-secret-77' },
        },
        { ALICE_PW: 'alices-secret-42' },
      );
      // A request later on an authenticated connection carries nothing: the flags still go on.
      expect(curl({}, 'rights')).toBe(`curl -sS -i -g '${URL}' --ntlm -u "CONTOSO\\\\alice:\${ALICE_PW}"`);
      const forbidden = curl({ Authorization: 'NTLM TlRMTVNTUAADAAAAGAAYAEgAAAA' }, 'forbidden');
      expect(forbidden).toBe(`curl -sS -i -g '${URL}' --ntlm -u "CONTOSO\\\\bob:\${CM_FORBIDDEN_NTLM_PASSWORD}"`);
      expect(forbidden).not.toContain('bobs-secret-77');
    });

    it("OAuth 2: the bearer token as ${CM_ACCESS_TOKEN}; explicit headers (a case's own) stay as sent", () => {
      const curl = mechanisms({
        auth: { type: 'oauth2', tokenUrl: 'https://adfs.contoso.com/adfs/oauth2/token', clientId: 'cm', clientSecret: 's3cret-client' },
      });
      expect(curl({ Authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig' }, 'rights')).toBe(
        `curl -sS -i -g '${URL}' -H "Authorization: Bearer \${CM_ACCESS_TOKEN}"`,
      );
      // auth.invalid's made-up credential is sent as explicit headers: reproduced as it was.
      expect(curl({ Authorization: 'Bearer cmcard-not-a-token' }, 'explicit')).toBe(`curl -sS -i -g '${URL}' -H 'Authorization: Bearer cmcard-not-a-token'`);
      expect(curl({}, 'anonymous')).toBe(`curl -sS -i -g '${URL}'`);
    });
  });

  // The reproductions of a real failing run, pasted into a shell, get the answers the run got.
  const hasCurl = spawnSync('curl', ['--version']).status === 0;
  if (!hasCurl) console.log('reproduce.test: curl is not installed (apt-get install curl): the shell round trip is skipped');
  it.skipIf(!hasCurl)('each reproduction, run by sh with the variables set, gets the status the run recorded (needs curl: apt-get install curl)', async () => {
    const server = await startBrokenServer('garbage-token-accepted');
    try {
      const report = await runConformance({ config: server.config, grep: /^auth\.invalid$/ });
      const failed = report.results[0]!.exchanges.filter((e) => e.failed);
      expect(failed.length).toBeGreaterThanOrEqual(2);
      for (const e of failed) {
        // Asynchronously: the server answers from this very process.
        const { stdout: out } = await promisify(execFile)('sh', ['-c', e.reproduce!], {
          env: { ...process.env, CM_TOKEN: 'helpdesk-token' },
          encoding: 'utf8',
          timeout: 10_000,
        });
        expect(`${e.why}: ${out.split('\r\n')[0]}`).toMatch(new RegExp(`: HTTP/1\\.1 ${e.response!.status}\\b`));
      }
    } finally {
      await server.close();
    }
  });
});

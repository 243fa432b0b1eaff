import { describe, expect, it } from 'vitest';
import { REDACTED, redactExchange, redactHeaders, redactReport, redactUrl } from '../../../harness/reporters/redact.js';
import { exchange, sampleRun } from './fixtures.js';

describe('defensive redaction', () => {
  it('redacts the credential headers whatever their case, and keeps the rest', () => {
    const headers = {
      Authorization: 'Bearer demo-helpdesk',
      'proxy-authorization': 'Basic dXNlcjpwYXNz',
      COOKIE: 'a=b',
      'Set-Cookie': 'sid=1; HttpOnly',
      'x-API-key': 'k',
      Accept: 'application/json',
      'X-Correlation-Id': 'abc',
    };
    expect(redactHeaders(headers)).toEqual({
      Authorization: `Bearer ${REDACTED}`,
      'proxy-authorization': `Basic ${REDACTED}`,
      COOKIE: REDACTED,
      'Set-Cookie': REDACTED,
      'x-API-key': REDACTED,
      Accept: 'application/json',
      'X-Correlation-Id': 'abc',
    });
    expect(headers.Authorization).toBe('Bearer demo-helpdesk');
  });

  it('drops a password from a URL and leaves other URLs alone', () => {
    expect(redactUrl('https://helpdesk:s3cret@cm.contoso.com/x?a=b')).toBe(`https://helpdesk:${REDACTED}@cm.contoso.com/x?a=b`);
    expect(redactUrl('http://127.0.0.1:41234/a?b=c@d')).toBe('http://127.0.0.1:41234/a?b=c@d');
    expect(redactUrl('http://user@host/')).toBe('http://user@host/');
  });

  it('never reports the key bytes the diversifiedkey endpoint hands out', () => {
    const keyBody = '"mBVA+key-bytes-base64-of-24-bytes=="';
    const e = exchange({
      request: { method: 'GET', url: 'http://127.0.0.1:1/CertificateManagement/api/v1.0/smartcards/3c4d/DiversifiedKey?cardid=c1', headers: {} },
      response: { status: 200, headers: {}, body: keyBody },
    });
    const out = redactExchange(e);
    expect(out.response!.body).not.toContain('key-bytes');
    expect(out.response!.body).toContain(REDACTED);
    // Any status: a server may hand the key out with a 201 or an error status.
    const created = redactExchange({ ...e, response: { status: 201, headers: {}, body: keyBody } });
    expect(created.response!.body).not.toContain('key-bytes');
    // Other endpoints' bodies are untouched.
    expect(redactExchange(exchange()).response!.body).toBe('"F0Zudm4wPLY="');
  });

  it('redacts a whole report without changing the input', () => {
    const run = sampleRun();
    const out = redactReport(run);
    expect(out.results[0]!.exchanges[0]!.request.headers.Authorization).toBe(`Bearer ${REDACTED}`);
    expect(run.results[0]!.exchanges[0]!.request.headers.Authorization).toBe('Bearer demo-helpdesk');
    expect(out.results.map((r) => r.outcome)).toEqual(run.results.map((r) => r.outcome));
  });
});

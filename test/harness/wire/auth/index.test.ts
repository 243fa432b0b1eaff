import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../../harness/wire/auth/index.js';
import type { AuthContext } from '../../../../harness/wire/auth/types.js';

describe('createAuthenticator', () => {
  const secrets: string[] = [];
  const ctx: AuthContext = { server: 'https://cm.contoso.com', timeoutMs: 1000, onSecret: (s) => secrets.push(s) };

  it('gives each type its mechanism and binding, and reports the configured secrets at once', async () => {
    const made = [
      createAuthenticator({ type: 'headers', headers: { Authorization: 'Bearer h3ader' } }, ctx),
      createAuthenticator({ type: 'negotiate' }, ctx),
      createAuthenticator({ type: 'ntlm', username: 'u', password: 'ntlm-pa55' }, ctx),
      createAuthenticator({ type: 'oauth2', tokenUrl: 'https://adfs/adfs/oauth2/token', clientId: 'c', clientSecret: 'cl1ent-secret' }, ctx),
    ];
    expect(made.map((a) => [a.type, a.binding])).toEqual([
      ['headers', 'request'],
      ['negotiate', 'connection'],
      ['ntlm', 'connection'],
      ['oauth2', 'request'],
    ]);
    expect(secrets).toEqual(expect.arrayContaining(['Bearer h3ader', 'ntlm-pa55', 'cl1ent-secret']));
    for (const a of made) await a.close?.();
  });
});

import { describe, expect, it } from 'vitest';
import { WIA_INSTALL_LINE, wiaSkipReason, type MachineProbe } from '../../../support/wia/requirements.js';

describe('the test bed says why it is skipped', () => {
  const complete: MachineProbe = { platform: 'linux', which: (t) => `/usr/sbin/${t}`, exists: () => true, ntlmssp: () => true };
  it('runs where everything is installed', () => {
    expect(wiaSkipReason(complete)).toBeNull();
  });
  it('names what is missing and the apt-get line', () => {
    const reason = wiaSkipReason({
      ...complete,
      which: (t) => (t === 'krb5kdc' ? null : `/usr/sbin/${t}`),
      exists: (p) => !p.endsWith('mod_auth_gssapi.so'),
      ntlmssp: () => false,
    });
    expect(reason).toBe(`needs krb5kdc, mod_auth_gssapi.so, gss-ntlmssp: install with \`${WIA_INSTALL_LINE}\``);
    expect(WIA_INSTALL_LINE).toBe('sudo apt-get install -y krb5-kdc krb5-user krb5-admin-server libkrb5-dev apache2 libapache2-mod-auth-gssapi gss-ntlmssp');
  });
  it('says it needs Linux elsewhere', () => {
    expect(wiaSkipReason({ ...complete, platform: 'win32' })).toMatch(/needs Linux .*this is win32/);
  });
});

/**
 * What the Windows Integrated Authentication test bed needs from the machine, and the one
 * line a skipped suite prints instead of failing (never a silent skip).
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const WIA_PACKAGES = 'krb5-kdc krb5-user krb5-admin-server libkrb5-dev apache2 libapache2-mod-auth-gssapi gss-ntlmssp';
export const WIA_INSTALL_LINE = `sudo apt-get install -y ${WIA_PACKAGES}`;
export const APACHE_MODULES_DIR = '/usr/lib/apache2/modules';
export const APACHE_MODULES = [
  'mod_mpm_event',
  'mod_authn_core',
  'mod_authz_core',
  'mod_authz_user',
  'mod_auth_gssapi',
  'mod_headers',
  'mod_proxy',
  'mod_proxy_http',
] as const;

export function which(tool: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin']) {
    if (!dir) continue;
    const path = join(dir, tool);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

/** gss-ntlmssp registers itself with GSSAPI in /etc/gss/mech.d. */
function ntlmsspMechInstalled(): boolean {
  const dirs = ['/etc/gss/mech.d'];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) {
      try {
        if (/^\s*gssntlmssp/m.test(readFileSync(join(dir, f), 'utf8'))) return true;
      } catch {
        // unreadable: keep looking
      }
    }
  }
  return false;
}

export interface MachineProbe {
  platform: NodeJS.Platform;
  which(tool: string): string | null;
  exists(path: string): boolean;
  ntlmssp(): boolean;
}
const THIS_MACHINE: MachineProbe = { platform: process.platform, which, exists: existsSync, ntlmssp: ntlmsspMechInstalled };

/** Why the realm and Apache cannot run here, or null when they can. */
export function wiaSkipReason(probe: MachineProbe = THIS_MACHINE): string | null {
  if (probe.platform !== 'linux') return `needs Linux with MIT Kerberos and Apache httpd (this is ${probe.platform})`;
  const missing: string[] = ['krb5kdc', 'kdb5_util', 'kadmin.local', 'apache2'].filter((t) => probe.which(t) === null);
  for (const m of APACHE_MODULES) if (!probe.exists(join(APACHE_MODULES_DIR, `${m}.so`))) missing.push(`${m}.so`);
  if (!probe.ntlmssp()) missing.push('gss-ntlmssp');
  if (missing.length > 0) return `needs ${missing.join(', ')}: install with \`${WIA_INSTALL_LINE}\``;
  return null;
}

/** Why the optional `kerberos` addon cannot be used here, or null when it loads. */
export async function kerberosAddonSkipReason(): Promise<string | null> {
  try {
    await import('kerberos' as string);
    return null;
  } catch (err) {
    return `needs the optional kerberos addon (${(err as Error).message.split('\n')[0]}): \`${WIA_INSTALL_LINE}\` then \`npm install kerberos\``;
  }
}

/** Prints the skip reason once, so a skipped suite shows in the log and not only in the report. */
export function announceSkip(suite: string, reason: string | null): void {
  if (reason !== null) console.log(`[skipped] ${suite}: ${reason}`);
}

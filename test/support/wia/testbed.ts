/**
 * The whole Windows Integrated Authentication stand-in for a test file: a temp dir, a
 * throwaway Kerberos realm, and Apache with mod_auth_gssapi in front of `backend`.
 * Everything runs on loopback ports and is stopped by PID in `stop()` (call it in
 * afterAll) and when the process exits or is interrupted.
 *
 * Users: `alice` and `bob`, in the realm (alice@CMCARD.TEST) and in the NTLM user file
 * (CMCARD\alice), with the same random password.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApache, type Apache } from './apache.js';
import { createRealm, type Realm, type RealmUser } from './realm.js';

export { WHOAMI_PATH } from './apache.js';
export { REALM, SERVICE_PRINCIPALS } from './realm.js';
export { WIA_INSTALL_LINE, WIA_PACKAGES, wiaSkipReason, kerberosAddonSkipReason, announceSkip } from './requirements.js';

export const NTLM_DOMAIN = 'CMCARD';

export interface TestBedOptions {
  /** Origin Apache proxies authenticated requests to. */
  backend: string;
  /** `Authorization` for the backend per REMOTE_USER (`alice@CMCARD.TEST`, `CMCARD\alice`). */
  backendAuthorization?: Record<string, string>;
}

export interface TestBed {
  dir: string;
  realm: Realm;
  apache: Apache;
  user(name: 'alice' | 'bob'): RealmUser;
  stop(): Promise<void>;
}

export async function startTestBed(options: TestBedOptions): Promise<TestBed> {
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-wia-'));
  // An interrupted run leaves no keytabs behind (the daemons are stopped by their own hook).
  const removeDir = (): void => {
    if (!process.env.CMCARD_WIA_KEEP) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', removeDir);
  let realm: Realm | undefined;
  try {
    realm = await createRealm(dir, ['alice', 'bob']);
    const apache = await startApache({
      dir,
      realm,
      backend: options.backend,
      ntlmDomain: NTLM_DOMAIN,
      ntlmUsers: realm.users,
      backendAuthorization: options.backendAuthorization,
    });
    const found = realm;
    return {
      dir,
      realm,
      apache,
      user: (name) => {
        const u = found.users.find((x) => x.name === name);
        if (!u) throw new Error(`no test bed user ${name}`);
        return u;
      },
      stop: async () => {
        await apache.stop();
        await found.stop();
        process.off('exit', removeDir);
        removeDir();
      },
    };
  } catch (err) {
    await realm?.stop();
    process.off('exit', removeDir);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

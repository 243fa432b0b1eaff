/**
 * Cookies a CM server sets (an IIS or ADFS session, a load balancer's affinity cookie),
 * kept per client and sent back as a browser would: tough-cookie's RFC 6265 rules for
 * domain, path, expiry and Secure.
 */
import { createRequire } from 'node:module';
import type * as Tough from 'tough-cookie';
import type { CookieJar } from './types.js';

// Loaded with the first cookie a server sets: most runs never see one and never pay for it.
let tough: typeof Tough | undefined;
const loadTough = (): typeof Tough => (tough ??= createRequire(import.meta.url)('tough-cookie') as typeof Tough);

export function createCookieJar(origin: string): CookieJar {
  let jar: Tough.CookieJar | undefined;
  const base = new URL(origin).origin;
  const url = (path: string): string => `${base}${path.startsWith('/') ? path : `/${path}`}`;
  return {
    header(path: string): string | undefined {
      const value = jar?.getCookieStringSync(url(path)) ?? '';
      return value === '' ? undefined : value;
    },
    store(path: string, setCookie: readonly string[]): void {
      if (setCookie.length === 0) return;
      jar ??= new (loadTough().CookieJar)();
      // A malformed or foreign-domain cookie is dropped, as a browser drops it.
      for (const value of setCookie) jar.setCookieSync(value, url(path), { ignoreError: true });
    },
    values(): string[] {
      return (jar?.serializeSync()?.cookies ?? []).map((c) => String(c.value ?? '')).filter((v) => v !== '');
    },
  };
}

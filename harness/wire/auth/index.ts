/**
 * The authentication mechanisms behind the config's `auth` blocks, as one factory. A
 * mechanism that needs a native addon (negotiate) loads it on its first use, so a config
 * without it never touches it.
 */
import { createHeadersAuthenticator } from './headers.js';
import { createNegotiateAuthenticator } from './negotiate.js';
import { createNtlmAuthenticator } from './ntlm.js';
import { createOAuth2Authenticator } from './oauth2.js';
import type { AuthConfig, AuthContext, Authenticator } from './types.js';

export function createAuthenticator(config: AuthConfig, ctx: AuthContext): Authenticator {
  switch (config.type) {
    case 'headers':
      return createHeadersAuthenticator(config.headers, ctx);
    case 'negotiate':
      return createNegotiateAuthenticator(config, ctx);
    case 'ntlm':
      return createNtlmAuthenticator(config, ctx);
    case 'oauth2':
      return createOAuth2Authenticator(config, ctx);
  }
}

export { AuthFailure } from './types.js';
export type { AuthConfig, AuthContext, Authenticator, AuthFailureKind, AuthType, ConnectionSend, CookieJar, WireRequest, WireResponse } from './types.js';
export { parseAuth, AUTH_TYPES, type AuthFail } from './config.js';
export { createCookieJar } from './cookie-jar.js';
export { withHeaders } from './headers.js';
export { KERBEROS_INSTALL_STEP, loadKerberos } from './negotiate.js';

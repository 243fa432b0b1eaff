import { DOCUMENTED_EXAMPLE, parseConfig, type HarnessConfig } from '../config.js';

/**
 * `cmcard load --server URL` without a config file: the only card every CM server can be
 * expected to know is the documented example (all-zero default key, diversified=False).
 * On a loopback server we send the reference server's demo help-desk token, so
 * `cmcard serve` + `cmcard load --server` works with no file; anywhere else no
 * credentials are invented: give a config with `headers`.
 */
export function serverOnlyConfig(server: string, timeoutMs?: number): HarnessConfig {
  const loopback = isLoopback(server);
  return parseConfig(
    {
      ...(loopback ? { headers: { Authorization: 'Bearer demo-helpdesk' } } : {}),
      cards: [{ name: 'example', reqid: DOCUMENTED_EXAMPLE.reqid, scid: DOCUMENTED_EXAMPLE.scid, cardid: DOCUMENTED_EXAMPLE.cardid, adminKey: DOCUMENTED_EXAMPLE.adminKeyHex }],
    },
    '--server',
    { server, ...(timeoutMs !== undefined ? { timeoutMs } : {}) },
  );
}

function isLoopback(server: string): boolean {
  try {
    const host = new URL(server).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false; // parseConfig reports the bad URL
  }
}

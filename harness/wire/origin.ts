/** The server URL rule, one for the config file, the CLI flags and the clients. */

/**
 * A server URL as the harness takes it: an http(s) origin, no path, query or credentials.
 * `problem` completes a sentence about the value (`server is not a URL: ...`).
 */
export function checkOrigin(server: string): { origin: string; problem?: undefined } | { origin?: undefined; problem: string } {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return { problem: `is not a URL: ${JSON.stringify(server)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `must start with http:// or https://, got ${JSON.stringify(server)}` };
  if (url.username || url.password) return { problem: 'must not carry credentials; put them in headers or auth' };
  if (url.pathname !== '/' || url.search || url.hash) {
    return { problem: `must be an origin like https://cm.contoso.com (put the path in basePath), got ${JSON.stringify(server)}` };
  }
  return { origin: url.origin };
}

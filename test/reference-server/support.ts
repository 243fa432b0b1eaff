import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTP request with the path sent exactly as given (no URL normalisation, unlike
 * fetch), so tests can send the documented lower-case path and percent-encoding verbatim.
 */
export function raw(
  origin: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  const url = new URL(origin);
  const headers = { ...options.headers };
  // Always frame a body, whatever the method: without a length Node would not send one for OPTIONS or DELETE.
  if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: options.method ?? 'GET', path, headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

export const HELPDESK = { Authorization: 'Bearer demo-helpdesk' };
export const USER = { Authorization: 'Bearer demo-user' };
export const JSON_HEADERS = { ...HELPDESK, 'Content-Type': 'application/json' };

export const EX = {
  reqid: 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099',
  scid: '17cf063d-e337-4aa9-a822-346554ddd3c9',
  cardid: 'bc88f13f-83ba-4037-8262-46eba1291c6e',
  template: 'a039b4d0-5ce8-4eff-8651-181c6576fda3',
};

/** The path of the authenticationresponse endpoint; `query` is appended verbatim. */
export function responsePath(reqid: string, scid: string, query: string, base = '/CertificateManagement/api/v1.0'): string {
  return `${base}/requests/${reqid}/smartcards/${scid}/authenticationresponse?${query}`;
}

/** An error body: exactly {Message, CorrelationId}, no stack text. */
export function errorBody(r: RawResponse): { Message: string; CorrelationId: string } {
  const parsed = JSON.parse(r.body) as Record<string, unknown>;
  if (Object.keys(parsed).sort().join(',') !== 'CorrelationId,Message') throw new Error(`not an error body: ${r.body}`);
  return parsed as { Message: string; CorrelationId: string };
}

import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startReferenceServer } from '../../reference-server/index.js';
import { EX } from './support.js';

describe('graceful shutdown', () => {
  it('finishes a request in flight before close() resolves, then refuses new connections', async () => {
    const server = await startReferenceServer({ quiet: true });
    const port = Number(new URL(server.url).port);
    const body = JSON.stringify({ type: 'Enroll', profiletemplateuuid: EX.template });
    const socket = connect(port, '127.0.0.1');
    let response = '';
    // The handler's audit row marks the moment the request was served.
    const order: string[] = [];
    const appendAudit = server.store.appendAudit.bind(server.store);
    server.store.appendAudit = (entry) => {
      order.push(`served ${entry.status}`);
      appendAudit(entry);
    };
    // Node answers `Expect: 100-continue` as it hands the request to the app: the event
    // that says the request is in flight, without waiting a guessed time.
    const inFlight = new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        response += d.toString();
        if (response.includes('100 Continue')) resolve();
      });
    });
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.write(
      `POST /CertificateManagement/api/v1.0/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-helpdesk\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await inFlight;
    const closing = server.close().then(() => order.push('closed'));
    // The body arrives only after close() began: the connection must still be served.
    socket.write(body);
    await closing;
    await ended;
    expect(response).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
    expect(response).toMatch(/connection: close/i);
    // close() waited for the request to be served.
    expect(order).toEqual(['served 201', 'closed']);
    await expect(new Promise((resolve, reject) => connect(port, '127.0.0.1').on('connect', resolve).on('error', reject))).rejects.toThrow(/ECONNREFUSED/);
  });
});

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
    socket.on('data', (d: Buffer) => (response += d.toString()));
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    // Headers and half the body: the request is in flight.
    socket.write(`POST /CertificateManagement/api/v1.0/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-helpdesk\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await new Promise((r) => setTimeout(r, 100));
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    socket.write(body.slice(10));
    await closing;
    await ended;
    expect(response).toMatch(/^HTTP\/1\.1 201 /);
    expect(response).toMatch(/connection: close/i);
    await expect(new Promise((resolve, reject) => connect(port, '127.0.0.1').on('connect', resolve).on('error', reject))).rejects.toThrow(/ECONNREFUSED/);
  });
});

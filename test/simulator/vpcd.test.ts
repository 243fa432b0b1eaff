import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApduFrontEnd } from '../../simulator/apdu.js';
import { VirtualCard } from '../../simulator/card.js';
import { InputError } from '../../simulator/errors.js';
import { seededRandom } from '../../simulator/random.js';
import { FrameDecoder, VpcdClient, backoffDelay, encodeFrame, parseVpcdAddress, type VpcdEvent } from '../../simulator/vpcd.js';
import { FakeConnection, FakeVpcd, withTimeout } from './vpcd-fake.js';

const ATR = '3b8d0180fba000000397425446590301c8';
const SELECT = '00a4040c09a00000039742544659';
const GET_PIN_STATUS = '00cb3fff045c027f7100';

describe('vpcd framing', () => {
  it('a frame is a 2-byte big-endian length and the payload', () => {
    expect(encodeFrame(Buffer.from([0x04])).toString('hex')).toBe('000104');
    expect(encodeFrame(Buffer.alloc(0x1234, 0xab)).subarray(0, 3).toString('hex')).toBe('1234ab');
    expect(() => encodeFrame(Buffer.alloc(0x10000))).toThrow(InputError);
  });

  it('reassembles frames however the stream is split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 30 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => FakeConnection.frame(p)));
          const decoder = new FrameDecoder();
          const out: Buffer[] = [];
          let at = 0;
          for (let i = 0; at < stream.length; i++) {
            const n = cuts[i % cuts.length]!;
            out.push(...decoder.push(stream.subarray(at, at + n)));
            at += n;
          }
          expect(out.map((b) => b.toString('hex'))).toEqual(payloads.map((p) => Buffer.from(p).toString('hex')));
          expect(decoder.buffered).toBe(0);
        },
      ),
    );
  });

  it('keeps an incomplete frame until the rest arrives', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(Buffer.from('0003aa', 'hex'))).toEqual([]);
    expect(decoder.buffered).toBe(3);
    expect(decoder.push(Buffer.from('bbcc0001', 'hex')).map((b) => b.toString('hex'))).toEqual(['aabbcc']);
    expect(decoder.push(Buffer.from('04', 'hex')).map((b) => b.toString('hex'))).toEqual(['04']);
  });
});

describe('backoff and addresses', () => {
  it('doubles from 100 ms and stops at 5 s by default', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelay(n))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    expect([1, 2, 3].map((n) => backoffDelay(n, { initialMs: 10, maxMs: 25, factor: 3 }))).toEqual([10, 25, 25]);
  });

  it('reads HOST:PORT with the defaults filled in', () => {
    expect(parseVpcdAddress('127.0.0.1:35963')).toEqual({ host: '127.0.0.1', port: 35963 });
    expect(parseVpcdAddress('localhost')).toEqual({ host: 'localhost', port: 35963 });
    expect(parseVpcdAddress(':40001')).toEqual({ host: '127.0.0.1', port: 40001 });
    expect(parseVpcdAddress('[::1]:40001')).toEqual({ host: '::1', port: 40001 });
    expect(parseVpcdAddress('::1')).toEqual({ host: '::1', port: 35963 });
  });

  it('names the problem in a bad address', () => {
    expect(() => parseVpcdAddress('host:0')).toThrow(/--vpcd: port must be a number from 1 to 65535, got "0"/);
    expect(() => parseVpcdAddress('host:99999')).toThrow(/port must be/);
    expect(() => parseVpcdAddress('host:http')).toThrow(/port must be/);
    expect(() => parseVpcdAddress('')).toThrow(/--vpcd is empty/);
    expect(() => parseVpcdAddress('bad host:1')).toThrow(/not a host name/);
    expect(() => parseVpcdAddress('[nope]:1')).toThrow(/not an IPv6 address/);
  });
});

describe('VpcdClient against a fake vpcd', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  function frontEnd(): ApduFrontEnd {
    const card = VirtualCard.create({ adminKey: Buffer.alloc(24, 0x5a), pin: '1234', atr: ATR }, { random: seededRandom('vpcd') });
    return new ApduFrontEnd(card);
  }

  async function setup(options: { port?: number; startServer?: boolean } = {}) {
    const events: VpcdEvent[] = [];
    const fe = frontEnd();
    const server = options.startServer === false ? null : await FakeVpcd.start(options.port ?? 0);
    if (server) cleanup.push(() => server.close());
    const port = server?.port ?? options.port!;
    const client = new VpcdClient({ host: '127.0.0.1', port, card: fe, backoff: { initialMs: 10, maxMs: 40 }, onEvent: (e) => events.push(e) });
    cleanup.push(() => client.close());
    client.start();
    return { fe, server, client, events, port };
  }

  it('answers GET ATR with the ATR and APDUs with response APDUs', async () => {
    const { server, fe } = await setup();
    const conn = await server!.connection(1);
    expect((await conn.request(Buffer.from([0x04]))).toString('hex')).toBe(ATR);
    conn.send(Buffer.from([0x01])); // power on: no answer expected
    expect(await conn.apdu(SELECT)).toEqual({ data: '', sw: 0x9000 });
    expect(await conn.apdu(GET_PIN_STATUS)).toEqual({ data: '7f7106970103930103', sw: 0x9000 });
    expect(fe.applicationSelected).toBe(true);
  });

  it('copes with frames split into single bytes', async () => {
    const { server } = await setup();
    const conn = await server!.connection(1);
    await conn.sendTrickled(Buffer.from(SELECT, 'hex'));
    expect((await conn.next()).toString('hex')).toBe('9000');
    await conn.sendTrickled(Buffer.from([0x04]));
    expect((await conn.next()).toString('hex')).toBe(ATR);
  });

  it('power off and reset end the card session: the application is no longer selected', async () => {
    const { server, events } = await setup();
    const conn = await server!.connection(1);
    for (const control of [0x00, 0x02]) {
      expect(await conn.apdu(SELECT)).toEqual({ data: '', sw: 0x9000 });
      conn.send(Buffer.from([control]));
      conn.send(Buffer.from([0x01]));
      expect((await conn.apdu(GET_PIN_STATUS)).sw).toBe(0x6d00);
    }
    expect(events.filter((e) => e.type === 'control').map((e) => (e as { control: string }).control)).toEqual(['power-off', 'power-on', 'reset', 'power-on']);
  });

  it('reconnects when the reader drops the connection, and the card was powered off meanwhile', async () => {
    const { server, fe, events } = await setup();
    const first = await server!.connection(1);
    expect(await first.apdu(SELECT)).toEqual({ data: '', sw: 0x9000 });
    first.socket.destroy();
    const second = await server!.connection(2);
    expect(fe.applicationSelected).toBe(false);
    expect((await second.apdu(GET_PIN_STATUS)).sw).toBe(0x6d00);
    expect(events.map((e) => e.type)).toContain('disconnected');
  });

  it('waits with backoff while nothing listens, and connects when pcscd comes (back)', async () => {
    const probe = await FakeVpcd.start();
    const port = probe.port;
    await probe.close();
    const { client, events } = await setup({ port, startServer: false });
    await waitFor(() => events.filter((e) => e.type === 'retry').length >= 3, 'three retries');
    const retries = events.filter((e): e is Extract<VpcdEvent, { type: 'retry' }> => e.type === 'retry');
    expect(retries[0]!.reason).toBe('ECONNREFUSED');
    expect(retries.slice(0, 3).map((r) => r.delayMs)).toEqual([10, 20, 40]);
    expect(client.connected).toBe(false);

    const server = await FakeVpcd.start(port);
    cleanup.push(() => server.close());
    const conn = await server.connection(1);
    await withTimeout(client.whenConnected(), 5000, 'the client to connect');
    expect((await conn.request(Buffer.from([0x04]))).toString('hex')).toBe(ATR);

    // pcscd restarts: the listener goes away and comes back on the same port.
    await server.close();
    await waitFor(() => !client.connected, 'the disconnect');
    const again = await FakeVpcd.start(port);
    cleanup.push(() => again.close());
    const conn2 = await again.connection(1);
    expect(await conn2.apdu(SELECT)).toEqual({ data: '', sw: 0x9000 });
  });

  it('close() ends the connection cleanly and stops reconnecting', async () => {
    const { server, client, events } = await setup();
    const conn = await server!.connection(1);
    await withTimeout(client.whenConnected(), 5000, 'the client to connect');
    await client.close();
    await withTimeout(conn.closed, 5000, 'the socket to close');
    expect(conn.ended).toBe(true);
    expect(events.at(-1)).toEqual({ type: 'closed' });
    // close() resolves after the socket's close handler ran, and that handler reports a
    // reconnect ('retry') at the moment it schedules one: none may have been reported.
    expect(events.map((e) => e.type)).toEqual(['connecting', 'connected', 'closed']);
    expect(server!.connections.length).toBe(1);
  });

  it('close() during a backoff wait cancels the pending reconnect', async () => {
    const probe = await FakeVpcd.start();
    const port = probe.port;
    await probe.close();
    // Only the client's timers are faked; the refused connection itself is real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const events: VpcdEvent[] = [];
      let retried: () => void = () => {};
      const firstRetry = new Promise<void>((resolve) => (retried = resolve));
      const client = new VpcdClient({
        host: '127.0.0.1',
        port,
        card: frontEnd(),
        backoff: { initialMs: 10 },
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'retry') retried();
        },
      });
      client.start();
      await firstRetry;
      expect(vi.getTimerCount()).toBe(1); // the reconnect, waiting
      await client.close();
      expect(vi.getTimerCount()).toBe(0);
      vi.runAllTimers();
      expect(events.filter((e) => e.type === 'connecting')).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a card that fails (its file gone) detaches: one card-error event, closed, no reconnect, nothing thrown', async () => {
    const server = await FakeVpcd.start();
    cleanup.push(() => server.close());
    const events: VpcdEvent[] = [];
    const fe = frontEnd();
    let atrCalls = 0;
    // A front end whose card file was deleted: reading the ATR throws, as openCardFile's card does.
    const failing = {
      get atr(): Buffer {
        atrCalls += 1;
        throw new InputError('card file /x/card.json does not exist');
      },
      powerOn: () => fe.powerOn(),
      powerOff: () => fe.powerOff(),
      reset: () => fe.reset(),
      transmit: (c: Uint8Array) => fe.transmit(c),
    };
    let onClosed: () => void = () => {};
    const closed = new Promise<void>((resolve) => (onClosed = resolve));
    const client = new VpcdClient({
      host: '127.0.0.1',
      port: server.port,
      card: failing,
      backoff: { initialMs: 10 },
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'closed') onClosed();
      },
    });
    cleanup.push(() => client.close());
    client.start();
    const conn = await server.connection(1);
    conn.send(Buffer.from([0x04]));
    await withTimeout(closed, 5000, 'the client to detach');
    expect(atrCalls).toBe(1);
    expect(events.filter((e) => e.type === 'card-error')).toEqual([{ type: 'card-error', message: 'card file /x/card.json does not exist' }]);
    expect(events.map((e) => e.type)).not.toContain('retry');
    await withTimeout(conn.closed, 5000, 'the socket to close');
    expect(client.connected).toBe(false);
  });
});

/** Polls until `condition` holds; bounded, so a broken client fails the test instead of hanging it. */
async function waitFor(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

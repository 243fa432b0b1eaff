import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A stand-in for vsmartcard's vpcd reader driver (the server side, inside pcscd), for
 * tests of the card side: it accepts the card's connection and sends controls and APDUs
 * framed as vpcd does (2-byte big-endian length, payload). Loopback, ephemeral port.
 * The framing here is written out independently of simulator/vpcd.ts on purpose.
 */
export class FakeVpcd {
  readonly connections: FakeConnection[] = [];
  #waiting: Array<{ n: number; resolve: (c: FakeConnection) => void }> = [];

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {
    server.on('connection', (socket: Socket) => {
      this.connections.push(new FakeConnection(socket));
      const ready = this.#waiting.filter((w) => w.n <= this.connections.length);
      this.#waiting = this.#waiting.filter((w) => w.n > this.connections.length);
      for (const w of ready) w.resolve(this.connections[w.n - 1]!);
    });
  }

  static async start(port = 0): Promise<FakeVpcd> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new FakeVpcd(server, (server.address() as AddressInfo).port);
  }

  /** The connection number `n` (1-based), waiting for it if needed. */
  connection(n: number, timeoutMs = 5000): Promise<FakeConnection> {
    const existing = this.connections[n - 1];
    if (existing) return Promise.resolve(existing);
    return withTimeout(new Promise((resolve) => this.#waiting.push({ n, resolve })), timeoutMs, `vpcd connection #${n}`);
  }

  /** Stops listening and cuts every connection, as a pcscd that exits. */
  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export class FakeConnection {
  #pending = Buffer.alloc(0);
  #frames: Buffer[] = [];
  #waiters: Array<(frame: Buffer) => void> = [];
  ended = false;
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#pending = Buffer.concat([this.#pending, chunk]);
      while (this.#pending.length >= 2 && this.#pending.length >= 2 + this.#pending.readUInt16BE(0)) {
        const n = this.#pending.readUInt16BE(0);
        const frame = this.#pending.subarray(2, 2 + n);
        this.#pending = this.#pending.subarray(2 + n);
        const waiter = this.#waiters.shift();
        if (waiter) waiter(frame);
        else this.#frames.push(frame);
      }
    });
    socket.on('end', () => (this.ended = true));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static frame(payload: Uint8Array): Buffer {
    return Buffer.concat([Buffer.from([payload.length >> 8, payload.length & 0xff]), Buffer.from(payload)]);
  }

  send(payload: Uint8Array): void {
    this.socket.write(FakeConnection.frame(payload));
  }

  /** Sends the frame one byte per write, as a worst-case TCP split. */
  async sendTrickled(payload: Uint8Array): Promise<void> {
    for (const byte of FakeConnection.frame(payload)) {
      this.socket.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
  }

  next(timeoutMs = 5000): Promise<Buffer> {
    const ready = this.#frames.shift();
    if (ready) return Promise.resolve(ready);
    return withTimeout(new Promise((resolve) => this.#waiters.push(resolve)), timeoutMs, 'a frame from the card');
  }

  async request(payload: Uint8Array): Promise<Buffer> {
    this.send(payload);
    return this.next();
  }

  /** A command APDU (hex) and its answer as { data hex, sw }. */
  async apdu(hex: string): Promise<{ data: string; sw: number }> {
    const r = await this.request(Buffer.from(hex, 'hex'));
    return { data: r.subarray(0, r.length - 2).toString('hex'), sw: r.readUInt16BE(r.length - 2) };
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

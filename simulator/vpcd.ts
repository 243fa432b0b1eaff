import { createConnection, isIP, type Socket } from 'node:net';
import { InputError } from './errors.js';

/**
 * The card side of vsmartcard's vpcd protocol (docs/protocol.md#apdu-commands): the reader driver
 * inside pcscd listens on TCP (35963 by default), the card connects as a client. Every
 * message both ways is a 2-byte big-endian length and a payload; a 1-byte payload from the
 * reader is a control (00 power off, 01 power on, 02 reset, 04 get ATR, answered with the
 * ATR), a longer one a command APDU, answered with the response APDU. When pcscd restarts
 * the connection drops: the client reconnects with a capped exponential backoff.
 */

export const VPCD_DEFAULT_HOST = '127.0.0.1';
export const VPCD_DEFAULT_PORT = 35963;
export const VPCD_CONTROL = { POWER_OFF: 0x00, POWER_ON: 0x01, RESET: 0x02, GET_ATR: 0x04 } as const;
const MAX_FRAME = 0xffff;

/** What the client drives: an ApduFrontEnd fits as is. */
export interface VpcdCard {
  readonly atr: Buffer;
  powerOn(): void;
  powerOff(): void;
  reset(): void;
  transmit(command: Uint8Array): Buffer;
}

export type VpcdEvent =
  | { type: 'connecting'; host: string; port: number; attempt: number }
  | { type: 'connected'; host: string; port: number }
  | { type: 'disconnected'; reason: string }
  | { type: 'retry'; delayMs: number; reason: string }
  | { type: 'control'; control: 'power-off' | 'power-on' | 'reset' | 'get-atr' | 'unknown'; byte: number }
  /** The card itself failed (say, its file was deleted, or the disk is full): the client detaches. */
  | { type: 'card-error'; message: string }
  | { type: 'closed' };

export interface BackoffOptions {
  /** First delay after a failed or dropped connection. Default 100 ms. */
  initialMs?: number;
  /** Upper bound of the delay. Default 5000 ms. */
  maxMs?: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
}

export interface VpcdClientOptions {
  host?: string;
  port?: number;
  card: VpcdCard;
  backoff?: BackoffOptions;
  onEvent?: (event: VpcdEvent) => void;
}

/** One frame: 2-byte big-endian length, then the payload. */
export function encodeFrame(payload: Uint8Array): Buffer {
  if (payload.length > MAX_FRAME) throw new InputError(`vpcd frame too long: ${payload.length} bytes (at most ${MAX_FRAME})`);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(payload.length);
  return Buffer.concat([head, Buffer.from(payload)]);
}

/** Reassembles frames from a TCP byte stream, however it is split. */
export class FrameDecoder {
  #pending: Buffer = Buffer.alloc(0);

  /** Feeds bytes in; returns every frame now complete, in order. */
  push(chunk: Uint8Array): Buffer[] {
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const frames: Buffer[] = [];
    while (this.#pending.length >= 2) {
      const length = this.#pending.readUInt16BE(0);
      if (this.#pending.length < 2 + length) break;
      frames.push(Buffer.from(this.#pending.subarray(2, 2 + length)));
      this.#pending = this.#pending.subarray(2 + length);
    }
    return frames;
  }

  /** Bytes received that do not yet make a whole frame. */
  get buffered(): number {
    return this.#pending.length;
  }
}

/** The delay before reconnect attempt `failures` (1-based): initial * factor^(n-1), capped. */
export function backoffDelay(failures: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 5000;
  const factor = options.factor ?? 2;
  const n = Math.max(1, Math.floor(failures));
  return Math.min(max, Math.round(initial * factor ** Math.min(n - 1, 30)));
}

/** `HOST:PORT`, `HOST`, `:PORT` or `[IPv6]:PORT` to a host and port (defaults filled in). */
export function parseVpcdAddress(text: string, what = '--vpcd'): { host: string; port: number } {
  const value = text.trim();
  if (value.length === 0) throw new InputError(`${what} is empty: give HOST:PORT, e.g. 127.0.0.1:${VPCD_DEFAULT_PORT}`);
  let host = value;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
    if (isIP(host) !== 6) throw new InputError(`${what}: ${JSON.stringify(host)} is not an IPv6 address`);
  } else if (isIP(value) === 6) {
    host = value;
  } else {
    const colon = value.lastIndexOf(':');
    if (colon >= 0) {
      host = value.slice(0, colon);
      portText = value.slice(colon + 1);
    }
  }
  if (host.length === 0) host = VPCD_DEFAULT_HOST;
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new InputError(`${what}: ${JSON.stringify(host)} is not a host name or address`);
  let port = VPCD_DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new InputError(`${what}: port must be a number from 1 to 65535, got ${JSON.stringify(portText)}`);
    }
    port = Number(portText);
  }
  return { host, port };
}

/**
 * Keeps a card inserted in a vpcd reader: connects, answers, reconnects. `start()` returns
 * at once; `close()` detaches (the card is powered off) and stops reconnecting.
 */
export class VpcdClient {
  readonly host: string;
  readonly port: number;
  readonly #card: VpcdCard;
  readonly #backoff: BackoffOptions;
  readonly #onEvent: (event: VpcdEvent) => void;
  #socket: Socket | null = null;
  #timer: NodeJS.Timeout | null = null;
  #failures = 0;
  #attempts = 0;
  #started = false;
  #closing = false;
  #connected = false;
  #waiters: Array<() => void> = [];

  constructor(options: VpcdClientOptions) {
    this.host = options.host ?? VPCD_DEFAULT_HOST;
    this.port = options.port ?? VPCD_DEFAULT_PORT;
    this.#card = options.card;
    this.#backoff = options.backoff ?? {};
    this.#onEvent = options.onEvent ?? (() => {});
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#connect();
  }

  /** Resolves at the next successful connection (at once if connected now). */
  whenConnected(): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Detaches cleanly: no more reconnects, the socket ends, the card is powered off. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const socket = this.#socket;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => socket.destroy(), 1000);
        socket.once('close', () => {
          clearTimeout(force);
          resolve();
        });
        socket.end();
      });
    }
    this.#socket = null;
    this.#connected = false;
    this.#cardCall(() => this.#card.powerOff());
    this.#onEvent({ type: 'closed' });
  }

  /**
   * Detaches because the card failed: one 'card-error' event (with the error's first
   * line), then close(). A card whose file is gone cannot answer anything truthfully.
   */
  fail(error: unknown): void {
    if (this.#closing) return;
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
    this.#onEvent({ type: 'card-error', message });
    void this.close();
  }

  /** Runs a call into the card; a throw detaches (see fail) instead of escaping an event handler. */
  #cardCall<T>(call: () => T): T | undefined {
    try {
      return call();
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  }

  #connect(): void {
    if (this.#closing) return;
    this.#attempts += 1;
    this.#onEvent({ type: 'connecting', host: this.host, port: this.port, attempt: this.#attempts });
    const socket = createConnection({ host: this.host, port: this.port });
    this.#socket = socket;
    const decoder = new FrameDecoder();
    let failure = 'connection closed';
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.#connected = true;
      this.#failures = 0;
      this.#onEvent({ type: 'connected', host: this.host, port: this.port });
      for (const resolve of this.#waiters.splice(0)) resolve();
    });
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (this.#closing) return;
        this.#cardCall(() => this.#handle(socket, frame));
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      failure = err.code ?? err.message;
    });
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      const wasConnected = this.#connected;
      this.#connected = false;
      if (this.#closing) return;
      // A card pulled from the reader loses power: rights and the pending challenge go.
      this.#cardCall(() => this.#card.powerOff());
      if (this.#closing) return;
      if (wasConnected) this.#onEvent({ type: 'disconnected', reason: failure });
      this.#failures += 1;
      const delayMs = backoffDelay(this.#failures, this.#backoff);
      this.#onEvent({ type: 'retry', delayMs, reason: failure });
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#connect();
      }, delayMs);
    });
  }

  #handle(socket: Socket, frame: Buffer): void {
    if (frame.length === 0) return;
    if (frame.length === 1) {
      const byte = frame[0]!;
      switch (byte) {
        case VPCD_CONTROL.POWER_OFF:
          this.#card.powerOff();
          this.#onEvent({ type: 'control', control: 'power-off', byte });
          return;
        case VPCD_CONTROL.POWER_ON:
          this.#card.powerOn();
          this.#onEvent({ type: 'control', control: 'power-on', byte });
          return;
        case VPCD_CONTROL.RESET:
          this.#card.reset();
          this.#onEvent({ type: 'control', control: 'reset', byte });
          return;
        case VPCD_CONTROL.GET_ATR:
          socket.write(encodeFrame(this.#card.atr));
          this.#onEvent({ type: 'control', control: 'get-atr', byte });
          return;
        default:
          this.#onEvent({ type: 'control', control: 'unknown', byte });
          return;
      }
    }
    socket.write(encodeFrame(this.#card.transmit(frame)));
  }
}

/**
 * A minimal keep-alive HTTP/1.1 client connection for load mode, over node:net or node:tls:
 * one GET in flight per connection, the request head a string the caller builds from a
 * template made once per card (only the percent-encoded challenge varies), the response
 * read by hand from the socket's 'data' events. The parser state lives on the connection
 * and is reused, so an exchange allocates the request string and the body string, and
 * nothing else. load-transport.ts uses it when no Authenticator is configured (fixed
 * headers only); with one, undici carries the handshakes.
 *
 * What it reads: a status line `HTTP/1.x DDD reason`; header lines (only Content-Length,
 * Transfer-Encoding and Connection are interpreted, by name in any case); 1xx interim
 * answers skipped (a 101 is a protocol error: nothing asked to switch); a body by
 * Content-Length, chunked (extensions and trailers read and dropped), none (204, 304), or
 * up to the close when neither is given. Bytes may arrive split anywhere. A body over the
 * cap is `too-large`; anything that is not HTTP is `protocol`, and the socket is dropped.
 * Deliberately refused (as llhttp refuses them): Content-Length together with
 * Transfer-Encoding, two different Content-Lengths, obs-fold continuation lines.
 *
 * Bytes after the end of an answer, before the next request was written, answer nothing
 * that was asked: the answer just read stands, and the connection is dropped (the next
 * exchange opens a fresh one) so they can never be taken for the next exchange's answer.
 * undici does the same.
 *
 * Keep-alive: the connection is reused until the server says `Connection: close`, closes
 * it, or sends something unreadable; the next exchange then connects again. When a reused
 * connection closes before a single byte of the answer came (the server's idle close
 * crossed our write), the request is sent once more on a fresh connection: the GET is
 * idempotent, and undici does the same. Never once any byte of the answer arrived.
 *
 * Time: connecting (TCP and TLS) has `timeoutMs`; from connected, the answer (head and
 * body) has `timeoutMs` in all. One timer per connection, re-armed rather than re-made.
 */
import net from 'node:net';
import tls from 'node:tls';
import { InputError } from '../../simulator/errors.js';
import { failureWithin, TransportError } from './transport-error.js';

/** How one exchange ends: an error (a TransportError), or a status and a body (latin1). */
export type RawReplyCallback = (err: TransportError | null, status: number, body: string) => void;

export interface RawHttpOptions {
  /** http:// or https:// origin (a path is ignored). */
  server: string;
  /** Sent on every request, in this order, after Host (unless it names its own Host). */
  headers?: Record<string, string>;
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  timeoutMs: number;
  /** Bodies larger than this fail with `too-large`. Default 64 KiB. */
  maxBodyBytes?: number;
}

/** The fixed text around the one varying part of a request's path. */
export interface RawTemplate {
  /** `GET {pathPrefix}` */
  readonly before: string;
  /** `{pathSuffix} HTTP/1.1\r\n{headers}\r\n` */
  readonly after: string;
}

export const DEFAULT_MAX_BODY = 64 * 1024;
/** Plain TCP reads into one buffer of this size per connection, reused (what the parser keeps, it copies). */
const READ_BUFFER = 16 * 1024;
/** A response head (or the trailers) longer than this is refused, as node and undici do (16 KiB). */
const MAX_HEAD = 16 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A header value: visible latin1 and spaces and tabs; no CR, LF, NUL or other control characters. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** A path as sent: visible ASCII only (no space, no control character). */
const PATH_TEXT = /^[\x21-\x7e]*$/;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const HTTP_1 = Buffer.from('HTTP/1.', 'latin1');

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;

// Parser phases.
const IDLE = 0;
const HEAD = 1;
const BODY = 2; // Content-Length bytes left
const UNTIL_CLOSE = 3;
const CHUNK_SIZE = 4; // hex digits
const CHUNK_SIZE_END = 5; // after the digits: BWS, ';' extensions, up to CR
const CHUNK_EXT = 6; // an extension, up to CR
const CHUNK_SIZE_LF = 7;
const CHUNK_DATA = 8;
const CHUNK_DATA_CR = 9;
const CHUNK_DATA_LF = 10;
const TRAILER_START = 11; // at the start of a trailer line (or of the final CRLF)
const TRAILER_LINE = 12;
const TRAILER_LF = 13;
const TRAILER_END_LF = 14;

const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX[0x41 + i] = HEX[0x61 + i] = 10 + i;

/** The origin, the header block and the socket options every connection to one server shares; checked once. */
export class RawHttpEndpoint {
  readonly origin: string;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly #host: string;
  readonly #port: number;
  readonly #secure: boolean;
  readonly #servername: string | undefined;
  readonly #tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  readonly #headerBlock: string;

  constructor(o: RawHttpOptions) {
    const url = new URL(o.server);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RangeError(`server must be an http:// or https:// URL, got ${o.server}`);
    if (!(o.timeoutMs > 0)) throw new RangeError(`timeoutMs must be above 0, got ${o.timeoutMs}`);
    this.origin = url.origin;
    this.timeoutMs = o.timeoutMs;
    this.maxBodyBytes = o.maxBodyBytes ?? DEFAULT_MAX_BODY;
    this.#secure = url.protocol === 'https:';
    this.#host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.#port = url.port === '' ? (this.#secure ? 443 : 80) : Number(url.port);
    // SNI carries host names only (an IP address there is refused by Node and by RFC 6066).
    this.#servername = net.isIP(this.#host) === 0 ? this.#host : undefined;
    const t = o.tls ?? {};
    this.#tls = {
      ...(t.ca !== undefined ? { ca: t.ca } : {}),
      ...(t.cert !== undefined ? { cert: t.cert } : {}),
      ...(t.key !== undefined ? { key: t.key } : {}),
    };
    let block = '';
    let host = false;
    for (const [name, value] of Object.entries(o.headers ?? {})) {
      // The config reader checks these too; a header that could split the request never reaches a socket.
      // The message names the header, never its value (a credential).
      if (!TOKEN.test(name)) throw new InputError(`header name ${JSON.stringify(name)} is not an HTTP token`);
      if (typeof value !== 'string' || !FIELD_VALUE.test(value))
        throw new InputError(`header ${name}: the value has a line break or another control character`);
      if (name.toLowerCase() === 'host') host = true;
      block += `${name}: ${value}\r\n`;
    }
    this.#headerBlock = (host ? '' : `Host: ${url.host}\r\n`) + block + '\r\n';
  }

  /** The request head of `GET {pathPrefix}{varying}{pathSuffix}`: the caller sends `before + varying + after`. */
  template(pathPrefix: string, pathSuffix: string): RawTemplate {
    if (!pathPrefix.startsWith('/') || !PATH_TEXT.test(pathPrefix) || !PATH_TEXT.test(pathSuffix))
      throw new InputError(`request path ${JSON.stringify(pathPrefix + '…' + pathSuffix)} must start with / and hold visible ASCII only`);
    return { before: `GET ${pathPrefix}`, after: `${pathSuffix} HTTP/1.1\r\n${this.#headerBlock}` };
  }

  /**
   * A new socket to the server (connecting starts at once). Plain TCP reads into `readBuffer`
   * and hands `onRead` the bytes (no Buffer and no stream push per read); TLS emits 'data'.
   */
  connect(readBuffer: Buffer, onRead: (buf: Buffer, end: number) => void): net.Socket {
    const socket = this.#secure
      ? tls.connect({ host: this.#host, port: this.#port, ...(this.#servername ? { servername: this.#servername } : {}), ...this.#tls })
      : net.connect({ host: this.#host, port: this.#port, onread: { buffer: readBuffer, callback: (n: number) => (onRead(readBuffer, n), true) } });
    if (this.#secure) socket.on('data', (chunk: Buffer) => onRead(chunk, chunk.length));
    socket.setNoDelay(true);
    return socket;
  }

  get secure(): boolean {
    return this.#secure;
  }
}

/**
 * One keep-alive connection: `send` one request head at a time, the answer to `done`.
 * The socket opens on the first send and again after the server closed it.
 */
export class RawHttpConnection {
  readonly #endpoint: RawHttpEndpoint;
  #readBuffer: Buffer | null = null;
  #socket: net.Socket | null = null;
  /** The socket completed an exchange: a close before any answer byte is the keep-alive race. */
  #reused = false;
  #connecting = false;
  /** Sockets opened, and requests sent again after a reused connection closed unanswered (for tests and diagnostics). */
  connects = 0;
  resends = 0;

  // The exchange in flight and the parser's state, reused from one exchange to the next.
  #done: RawReplyCallback | null = null;
  #head = '';
  #resent = false;
  #received = 0;
  #phase = IDLE;
  #partial: Buffer | null = null;
  #status = 0;
  #body = '';
  #left = 0;
  #chunkDigits = 0;
  #trailerBytes = 0;
  #contentLength = -1;
  #te = false;
  #chunked = false;
  #closeAfter = false;
  #keepAlive = false;

  // One timer per connection: armed when an exchange starts and none is armed; on firing it
  // either times the exchange out or re-arms for what is left of its deadline.
  #deadline = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerMs = 0;
  #armed = false;
  readonly #onTimer = (): void => {
    this.#armed = false;
    if (this.#done === null) return;
    const left = this.#deadline - performance.now();
    if (left > 0) return this.#arm(left);
    this.#fail(new TransportError('timeout', `${this.#where()}: no response within ${this.#endpoint.timeoutMs} ms`));
  };

  constructor(endpoint: RawHttpEndpoint) {
    this.#endpoint = endpoint;
  }

  /**
   * Sends one request head (a template's `before + varying + after`) and calls `done` once
   * with the answer or a TransportError. One exchange at a time per connection.
   */
  send(head: string, done: RawReplyCallback): void {
    if (this.#done !== null) throw new Error('raw-http: an exchange is already in flight on this connection');
    this.#done = done;
    this.#head = head;
    this.#resent = false;
    this.#received = 0;
    this.#startHead();
    if (this.#socket === null) this.#open();
    else this.#startClock();
    this.#socket!.write(head, 'latin1');
  }

  /** Closes the connection; an exchange in flight fails with `reset`. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined; // a cleared timer cannot be refreshed
    this.#armed = false;
    if (this.#done !== null) this.#fail(new TransportError('reset', `${this.#where()}: the client closed the connection`));
    else this.#drop();
  }

  // ---- sockets ----

  #open(): void {
    this.#readBuffer ??= Buffer.allocUnsafe(READ_BUFFER);
    const socket = this.#endpoint.connect(this.#readBuffer, (buf, end) => {
      if (socket === this.#socket) this.#onData(buf, end);
    });
    this.#socket = socket;
    this.#reused = false;
    this.#connecting = true;
    this.connects += 1;
    this.#startClock();
    // Listeners per socket (not per exchange); a socket that is no longer current is ignored.
    socket.once(this.#endpoint.secure ? 'secureConnect' : 'connect', () => {
      if (socket !== this.#socket) return;
      this.#connecting = false;
      if (this.#done !== null) this.#startClock(); // the answer's own time starts now
    });
    socket.on('end', () => {
      if (socket === this.#socket) this.#onClosed(null);
    });
    socket.on('close', () => {
      if (socket === this.#socket) this.#onClosed(null);
    });
    socket.on('error', (err: Error) => {
      if (socket === this.#socket) this.#onClosed(err);
    });
  }

  #drop(): void {
    const socket = this.#socket;
    this.#socket = null;
    this.#connecting = false;
    socket?.destroy();
  }

  /** The server closed the socket (end, close) or it failed (error). */
  #onClosed(err: Error | null): void {
    if (this.#done === null) return this.#drop(); // idle: the next exchange connects again
    if (err === null && this.#phase === UNTIL_CLOSE) return this.#complete(false);
    if (this.#received === 0 && this.#reused && !this.#resent && (err === null || isResetLike(err))) {
      // The keep-alive race: the server closed this connection as our request went out.
      this.#resent = true;
      this.resends += 1;
      this.#drop();
      this.#startHead();
      this.#open();
      this.#socket!.write(this.#head, 'latin1');
      return;
    }
    if (err !== null) return this.#fail(failureWithin(err, 'GET', this.#url(), this.#endpoint.timeoutMs));
    const what = this.#connecting
      ? 'the connection closed while connecting'
      : this.#received === 0
        ? 'the server closed the connection'
        : 'the server closed the connection mid-answer';
    this.#fail(new TransportError('reset', `${this.#where()}: connection closed before a complete answer: ${what}`));
  }

  // ---- time ----

  #startClock(): void {
    this.#deadline = performance.now() + this.#endpoint.timeoutMs;
    if (!this.#armed) this.#arm(this.#endpoint.timeoutMs);
  }

  #arm(ms: number): void {
    this.#armed = true;
    const whole = Math.max(1, Math.ceil(ms));
    // The same duration as the timer we have: re-armed in place, no new timer (the common case).
    if (this.#timer !== undefined && whole === this.#timerMs) this.#timer.refresh();
    else {
      this.#timer = setTimeout(this.#onTimer, whole);
      this.#timer.unref(); // an exchange in flight holds its socket, which keeps the process up
      this.#timerMs = whole;
    }
  }

  // ---- the exchange ----

  #startHead(): void {
    this.#phase = HEAD;
    this.#partial = null;
    this.#status = 0;
    this.#body = '';
    this.#resetHeaders();
  }

  #resetHeaders(): void {
    this.#contentLength = -1;
    this.#te = false;
    this.#chunked = false;
    this.#closeAfter = false;
    this.#keepAlive = false;
    this.#trailerBytes = 0;
  }

  #where(): string {
    return `GET ${this.#url()}`;
  }

  #url(): string {
    const head = this.#head;
    return this.#endpoint.origin + head.slice(4, head.indexOf(' HTTP/1.1\r\n'));
  }

  /** The exchange failed: the socket is dropped (whatever it held is out of step), then `done` hears why. */
  #fail(err: TransportError): void {
    const done = this.#done;
    this.#done = null;
    this.#phase = IDLE;
    this.#partial = null;
    this.#body = '';
    this.#drop();
    done?.(err, 0, '');
  }

  #protocol(why: string): void {
    this.#fail(new TransportError('protocol', `${this.#where()}: not an HTTP/1.1 answer: ${why}`));
  }

  #tooLarge(what: string): void {
    const max = this.#endpoint.maxBodyBytes;
    this.#fail(new TransportError('too-large', `${this.#where()}: the body is over the ${max}-byte cap (${what})`));
  }

  /** The answer is complete; `extra`: bytes followed it in the same read. */
  #complete(extra: boolean): void {
    const done = this.#done!;
    const status = this.#status;
    const body = this.#body;
    this.#done = null;
    this.#phase = IDLE;
    this.#body = '';
    if (this.#closeAfter || extra) this.#drop();
    else this.#reused = true;
    done(null, status, body);
  }

  /** Bytes chunk[0, n) arrived (chunk may be longer: a reused read buffer). */
  #onData(chunk: Buffer, n: number): void {
    if (this.#done === null) return this.#drop(); // nothing was asked: the connection is out of step
    this.#received += n;
    let i = 0;
    while (i < n) {
      switch (this.#phase) {
        case HEAD:
          i = this.#readHead(chunk, i, n);
          break;
        case BODY: {
          const take = Math.min(this.#left, n - i);
          this.#append(chunk, i, i + take);
          i += take;
          this.#left -= take;
          if (this.#left === 0) return this.#complete(i < n);
          break;
        }
        case UNTIL_CLOSE:
          if (this.#body.length + (n - i) > this.#endpoint.maxBodyBytes)
            return this.#tooLarge(`more than ${this.#endpoint.maxBodyBytes} bytes before the close`);
          this.#append(chunk, i, n);
          i = n;
          break;
        case IDLE:
          return; // the exchange ended (an error, or the answer was complete)
        default:
          i = this.#readChunked(chunk, i, n);
      }
      if (i < 0) return;
    }
  }

  #append(chunk: Buffer, from: number, to: number): void {
    if (from === to) return;
    // A cryptogram arrives in one piece; only a split body is ever joined.
    this.#body = this.#body === '' ? chunk.toString('latin1', from, to) : this.#body + chunk.toString('latin1', from, to);
  }

  /** Reads the head from chunk[i, n); returns where the body starts, n to wait for more, or -1 when the exchange ended. */
  #readHead(chunk: Buffer, i: number, n: number): number {
    let buf = chunk;
    let start = i;
    let from = i;
    let before = 0;
    let end = n;
    if (this.#partial !== null) {
      before = this.#partial.length;
      buf = Buffer.concat([this.#partial, chunk.subarray(i, n)]);
      start = 0;
      from = Math.max(0, before - 3);
      end = buf.length;
    }
    // indexOf has no end: a match reaching past `end` is stale bytes of a reused read buffer, so none.
    let at = buf.indexOf(CRLFCRLF, from);
    if (at + 4 > end) at = -1;
    if (at < 0) {
      const have = end - start;
      const check = Math.min(have, HTTP_1.length);
      if (buf.compare(HTTP_1, 0, check, start, start + check) !== 0) {
        this.#protocol('the status line does not start with HTTP/1.');
        return -1;
      }
      if (have > MAX_HEAD) {
        this.#protocol(`the head is over ${MAX_HEAD} bytes`);
        return -1;
      }
      this.#partial = buf === chunk ? Buffer.from(chunk.subarray(i, n)) : buf;
      return n;
    }
    this.#partial = null;
    const headEnd = at + 4;
    if (headEnd - start > MAX_HEAD) {
      this.#protocol(`the head is over ${MAX_HEAD} bytes`);
      return -1;
    }
    const next = i + (headEnd - start - before);
    const why = this.#parseHead(buf, start, headEnd);
    if (why !== null) {
      this.#protocol(why);
      return -1;
    }
    return this.#afterHead(next, n);
  }

  /** Decides how the body is delimited; returns where to go on, or -1 when the exchange ended. */
  #afterHead(next: number, n: number): number {
    const status = this.#status;
    if (status < 200) {
      if (status === 101) {
        this.#protocol('101 Switching Protocols to a request that asked for no upgrade');
        return -1;
      }
      this.#startHead(); // an interim answer: the final one follows
      return next;
    }
    if (this.#te && this.#contentLength >= 0) {
      this.#protocol('both Content-Length and Transfer-Encoding');
      return -1;
    }
    if (status === 204 || status === 304 || (!this.#te && this.#contentLength === 0)) {
      this.#complete(next < n);
      return -1;
    }
    if (this.#chunked) {
      this.#phase = CHUNK_SIZE;
      this.#left = 0;
      this.#chunkDigits = 0;
      return next;
    }
    if (this.#contentLength > 0 && !this.#te) {
      if (this.#contentLength > this.#endpoint.maxBodyBytes) {
        this.#tooLarge(`Content-Length ${this.#contentLength}`);
        return -1;
      }
      this.#phase = BODY;
      this.#left = this.#contentLength;
      return next;
    }
    // Neither length nor chunked: the body runs to the close, and the connection cannot be reused.
    this.#phase = UNTIL_CLOSE;
    this.#closeAfter = true;
    return next;
  }

  /** Parses buf[start, end) (ending in CRLFCRLF) into status and framing; returns why it is not HTTP, or null. */
  #parseHead(buf: Buffer, start: number, end: number): string | null {
    // Status line: HTTP/1.x SP DDD (SP reason)? CRLF
    const p = start + HTTP_1.length;
    if (buf.compare(HTTP_1, 0, HTTP_1.length, start, p) !== 0) return 'the status line does not start with HTTP/1.';
    const minor = buf[p]! - 0x30;
    if (minor < 0 || minor > 9 || buf[p + 1] !== SP) return 'the status line has no HTTP/1.x version';
    const d0 = buf[p + 2]! - 0x30;
    const d1 = buf[p + 3]! - 0x30;
    const d2 = buf[p + 4]! - 0x30;
    if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return 'the status is not a 3-digit code from 100 to 999';
    this.#status = d0 * 100 + d1 * 10 + d2;
    this.#keepAlive = minor >= 1;
    let k = p + 5;
    if (buf[k] === SP) {
      while (buf[k] !== CR) {
        const c = buf[k]!;
        if ((c < SP && c !== HT) || c === 0x7f) return 'a control character in the reason phrase';
        k++;
      }
    }
    if (buf[k] !== CR || buf[k + 1] !== LF) return 'the status line does not end after the status';
    k += 2;
    // Header lines, up to the empty line.
    while (k < end - 2) {
      const lineStart = k;
      while (k < end && TOKEN_BYTE[buf[k]!] === 1) k++;
      if (k === lineStart) return buf[k] === SP || buf[k] === HT ? 'a folded header line (obs-fold)' : 'a header line without a name';
      const nameEnd = k;
      if (buf[k] !== 0x3a) return 'a header name followed by something other than a colon';
      k++;
      while (buf[k] === SP || buf[k] === HT) k++;
      const valueStart = k;
      while (buf[k] !== CR) {
        const c = buf[k]!;
        if ((c < SP && c !== HT) || c === 0x7f) return 'a control character in a header value';
        k++;
      }
      if (buf[k + 1] !== LF) return 'a header line not ended by CRLF';
      let valueEnd = k;
      while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HT)) valueEnd--;
      k += 2;
      const why = this.#header(buf, lineStart, nameEnd, valueStart, valueEnd);
      if (why !== null) return why;
    }
    if (!this.#keepAlive) this.#closeAfter = true;
    return null;
  }

  /** Interprets one header if it is one that frames the answer. */
  #header(buf: Buffer, name: number, nameEnd: number, value: number, valueEnd: number): string | null {
    const len = nameEnd - name;
    if (len === 14 && sameName(buf, name, CONTENT_LENGTH)) {
      if (value === valueEnd) return 'an empty Content-Length';
      let n = 0;
      for (let k = value; k < valueEnd; k++) {
        const d = buf[k]! - 0x30;
        if (d < 0 || d > 9) return 'a Content-Length that is not a number';
        n = n * 10 + d;
      }
      if (this.#contentLength >= 0 && this.#contentLength !== n) return 'two different Content-Lengths';
      this.#contentLength = n;
    } else if (len === 17 && sameName(buf, name, TRANSFER_ENCODING)) {
      // The last coding of the last Transfer-Encoding decides: chunked, or the body runs to the close.
      this.#te = true;
      let last = valueEnd;
      while (last > value && buf[last - 1] !== 0x2c) last--;
      while (last < valueEnd && (buf[last] === SP || buf[last] === HT)) last++;
      this.#chunked = valueEnd - last === 7 && sameName(buf, last, CHUNKED);
    } else if (len === 10 && sameName(buf, name, CONNECTION)) {
      let k = value;
      while (k < valueEnd) {
        while (k < valueEnd && (buf[k] === SP || buf[k] === HT || buf[k] === 0x2c)) k++;
        const t = k;
        while (k < valueEnd && buf[k] !== 0x2c && buf[k] !== SP && buf[k] !== HT) k++;
        if (k - t === 5 && sameName(buf, t, CLOSE)) this.#closeAfter = true;
        else if (k - t === 10 && sameName(buf, t, KEEP_ALIVE)) this.#keepAlive = true;
      }
    }
    return null;
  }

  /** The chunked body from chunk[i, n); returns where it stopped, or -1 when the exchange ended. */
  #readChunked(chunk: Buffer, i: number, n: number): number {
    const max = this.#endpoint.maxBodyBytes;
    while (i < n) {
      const c = chunk[i]!;
      switch (this.#phase) {
        case CHUNK_SIZE: {
          const h = HEX[c]!;
          if (h >= 0) {
            this.#left = this.#left * 16 + h;
            this.#chunkDigits += 1;
            if (this.#body.length + this.#left > max) {
              this.#tooLarge(`a chunk of ${this.#left} or more bytes after ${this.#body.length}`);
              return -1;
            }
            i++;
            break;
          }
          if (this.#chunkDigits === 0) {
            this.#protocol('a chunk size that is not hexadecimal');
            return -1;
          }
          this.#phase = CHUNK_SIZE_END;
          break;
        }
        case CHUNK_SIZE_END:
          if (c === SP || c === HT) i++;
          else if (c === 0x3b) {
            this.#phase = CHUNK_EXT;
            i++;
          } else if (c === CR) {
            this.#phase = CHUNK_SIZE_LF;
            i++;
          } else {
            this.#protocol('a chunk size line with something other than an extension');
            return -1;
          }
          break;
        case CHUNK_EXT:
          if (c === CR) this.#phase = CHUNK_SIZE_LF;
          else if ((c < SP && c !== HT) || c === 0x7f) {
            this.#protocol('a control character in a chunk extension');
            return -1;
          } else if (++this.#trailerBytes > MAX_HEAD) {
            this.#protocol(`chunk extensions over ${MAX_HEAD} bytes`);
            return -1;
          }
          i++;
          break;
        case CHUNK_SIZE_LF:
          if (c !== LF) {
            this.#protocol('a chunk size line not ended by CRLF');
            return -1;
          }
          i++;
          if (this.#left === 0) this.#phase = TRAILER_START;
          else this.#phase = CHUNK_DATA;
          break;
        case CHUNK_DATA: {
          const take = Math.min(this.#left, n - i);
          this.#append(chunk, i, i + take);
          i += take;
          this.#left -= take;
          if (this.#left === 0) this.#phase = CHUNK_DATA_CR;
          break;
        }
        case CHUNK_DATA_CR:
          if (c !== CR) {
            this.#protocol('a chunk longer than its size');
            return -1;
          }
          this.#phase = CHUNK_DATA_LF;
          i++;
          break;
        case CHUNK_DATA_LF:
          if (c !== LF) {
            this.#protocol('a chunk not ended by CRLF');
            return -1;
          }
          this.#phase = CHUNK_SIZE;
          this.#chunkDigits = 0;
          i++;
          break;
        case TRAILER_START:
          if (c === CR) this.#phase = TRAILER_END_LF;
          else if (TOKEN_BYTE[c] === 1) this.#phase = TRAILER_LINE;
          else {
            this.#protocol('a trailer line without a name');
            return -1;
          }
          i++;
          break;
        case TRAILER_LINE:
          if (c === CR) this.#phase = TRAILER_LF;
          else if ((c < SP && c !== HT) || c === 0x7f) {
            this.#protocol('a control character in a trailer');
            return -1;
          }
          if (++this.#trailerBytes > MAX_HEAD) {
            this.#protocol(`trailers over ${MAX_HEAD} bytes`);
            return -1;
          }
          i++;
          break;
        case TRAILER_LF:
          if (c !== LF) {
            this.#protocol('a trailer line not ended by CRLF');
            return -1;
          }
          this.#phase = TRAILER_START;
          i++;
          break;
        case TRAILER_END_LF:
          if (c !== LF) {
            this.#protocol('a chunked body not ended by CRLF');
            return -1;
          }
          i++;
          this.#complete(i < n);
          return -1;
        default:
          return i;
      }
    }
    return i;
  }
}

/** Errors that mean the peer closed or reset the connection (as opposed to TLS or DNS failures). */
function isResetLike(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED';
}

const TOKEN_BYTE = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_BYTE[c.charCodeAt(0)] = 1;

const lower = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const CONTENT_LENGTH = lower('content-length');
const TRANSFER_ENCODING = lower('transfer-encoding');
const CONNECTION = lower('connection');
const CHUNKED = lower('chunked');
const CLOSE = lower('close');
const KEEP_ALIVE = lower('keep-alive');

/** buf[at..] equals `name` (lower case letters and '-') in any case. */
function sameName(buf: Buffer, at: number, name: Uint8Array): boolean {
  for (let k = 0; k < name.length; k++) {
    const c = buf[at + k]!;
    // Letters fold to lower case; '-' (0x2d) is unchanged by | 0x20, and 0x0d cannot occur in a token.
    if ((c | 0x20) !== name[k]) return false;
  }
  return true;
}

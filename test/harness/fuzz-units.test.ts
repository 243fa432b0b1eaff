import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DOCUMENTED_EXAMPLE } from '../../harness/config.js';
import { Redactor } from '../../harness/redact.js';
import { curlCommand, curlEnvNote, envName, shellQuote } from '../../harness/fuzz/curl.js';
import { curlAuth } from '../../harness/reproduce.js';
import { renderFinding } from '../../harness/fuzz/finding.js';
import { challengeOnWire, readChallenge, readDiversified, CHALLENGE_ENCODINGS, type CallerChoice } from '../../harness/fuzz/inputs.js';
import { checkStep, INVARIANTS, invariant, type AskFacts, type CheckEnv, type StepFacts } from '../../harness/fuzz/invariants.js';
import { FuzzModel, type ModelCard, type ModelRequest } from '../../harness/fuzz/model.js';
import { decodePath, encodePath, parseSeed, replayCommand, replayPathOf } from '../../harness/fuzz/replay.js';
import { judgeWithCard, type StepRecord } from '../../harness/fuzz/sequence.js';

// The pure parts of `cmcard fuzz`: how inputs must be read, each invariant on made-up
// steps (each one can break), the replay path, the curl text, the model's picks.

const RIGHTS: CallerChoice = { kind: 'rights', garbage: 0 };
const FORBIDDEN: CallerChoice = { kind: 'forbidden', garbage: 0 };
const ANONYMOUS: CallerChoice = { kind: 'anonymous', garbage: 0 };

// The documented example (Microsoft's published values): all-zero default key, its challenge and response.
const ZERO_KEY = Buffer.alloc(24);
const CHALLENGE = Buffer.from(DOCUMENTED_EXAMPLE.challengeBase64, 'base64');
const DIVERSIFIED = Buffer.from(DOCUMENTED_EXAMPLE.diversifiedKeyBase64, 'base64');

function card(over: Partial<ModelCard> = {}): ModelCard {
  return {
    scid: DOCUMENTED_EXAMPLE.scid,
    cardid: DOCUMENTED_EXAMPLE.cardid,
    label: 'card example',
    adminKey: ZERO_KEY,
    diversifiedKey: DIVERSIFIED,
    status: 'active',
    created: false,
    pending: [],
    touched: 0,
    ...over,
  };
}
function request(over: Partial<ModelRequest> = {}): ModelRequest {
  return {
    reqid: DOCUMENTED_EXAMPLE.reqid,
    label: 'the request of card example',
    status: 'open',
    created: false,
    cards: [DOCUMENTED_EXAMPLE.scid],
    touched: 0,
    read: 0,
    ...over,
  };
}

const deferred: Array<{ card: ModelCard; challenge: Buffer }> = [];
const env: CheckEnv = {
  hasKeyMaterial: (text) => {
    const finder = new Redactor([], [ZERO_KEY, DIVERSIFIED]);
    return finder.text(text) !== text;
  },
  judge: judgeWithCard,
  defer: (c, challenge) => {
    deferred.push({ card: c, challenge });
  },
};

function ask(over: Partial<AskFacts> = {}): AskFacts {
  return {
    target: { card: card(), request: request() },
    wellFormed: true,
    missing: [],
    challenge: { kind: 'valid', bytes: CHALLENGE },
    diversified: false,
    ...over,
  };
}

function step(over: Partial<StepFacts> & { status?: number; body?: string }): StepFacts {
  const { status = 200, body = JSON.stringify(DOCUMENTED_EXAMPLE.responseBase64), ...rest } = over;
  return {
    step: 1,
    endpoint: 'authenticationresponse',
    caller: RIGHTS,
    sent: { url: 'http://127.0.0.1:1/x?challenge=1hFD%2Bcz%2F0so%3D' },
    answer: { status, headers: { 'content-type': 'application/json' }, body, durationMs: 1 },
    ask: ask(),
    ...rest,
  };
}

const broken = (s: StepFacts): string[] => checkStep(s, env).map((b) => b.invariant);

describe('how a server must read a challenge', () => {
  it('the documented challenge in standard base64 is valid, with its 8 bytes', () => {
    const r = readChallenge(encodeURIComponent(DOCUMENTED_EXAMPLE.challengeBase64));
    expect(r).toEqual({ kind: 'valid', bytes: CHALLENGE });
  });

  it('base64url, unpadded base64 and a space where a + was are lenient: unambiguous, same bytes', () => {
    // 16 bytes whose base64 holds '+', '/' and '=' (RFC 4648 alphabet edges).
    const bytes = Buffer.from('fbff00fbff00fbff00fbff00fbff00fb', 'hex');
    const b64 = bytes.toString('base64');
    expect(b64).toMatch(/\+/);
    for (const wire of [bytes.toString('base64url'), encodeURIComponent(b64.replace(/=+$/, '')), encodeURIComponent(b64).replace(/%2B/g, '%20')]) {
      expect(readChallenge(wire)).toEqual({ kind: 'lenient', bytes });
    }
  });

  it('no card issues 7 or 9 bytes, an empty or a non-base64 challenge, or 16 hex digits read as base64 (12 bytes)', () => {
    for (const wire of [Buffer.alloc(7).toString('base64'), Buffer.alloc(9).toString('base64'), '', 'not*base64!', 'CFAA62118BBD2500', '%E0%A4%A']) {
      expect(readChallenge(wire).kind, wire).toBe('invalid');
    }
    expect(readChallenge(undefined)).toEqual({ kind: 'missing' });
  });

  it('every encoding the fuzzer sends is read the way it was meant, or refused', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((k) => fc.uint8Array({ minLength: 8 * k, maxLength: 8 * k })),
        fc.constantFrom(...CHALLENGE_ENCODINGS),
        (bytes, encoding) => {
          const r = readChallenge(challengeOnWire({ bytes, encoding }));
          if (encoding === 'base64' || encoding === 'base64 with lower-case percent escapes') expect(r).toEqual({ kind: 'valid', bytes: Buffer.from(bytes) });
          else if (encoding === 'base64url' || encoding === 'unpadded base64') expect(r).toMatchObject({ bytes: Buffer.from(bytes) });
          else if (encoding === 'missing') expect(r.kind).toBe('missing');
          else if (r.kind === 'valid' || r.kind === 'lenient') expect(encoding === 'hex' || encoding === 'spaced hex').toBe(true);
        },
      ),
    );
  });

  it('diversified: any case of true/false; anything else is no boolean', () => {
    expect(['False', 'FALSE', 'true', 'tRUE'].map(readDiversified)).toEqual([false, false, true, true]);
    expect(['maybe', '0', '1', ''].map(readDiversified)).toEqual(['invalid', 'invalid', 'invalid', 'invalid']);
    expect(readDiversified(undefined)).toBe('missing');
  });
});

describe('the invariants, one step at a time', () => {
  it('the documented answer to the documented request breaks nothing', () => {
    expect(broken(step({}))).toEqual([]);
  });

  it('no-server-error: a 5xx or no answer at all', () => {
    expect(broken(step({ status: 500, body: '{"Message":"error"}' }))).toEqual(['fuzz.no-server-error']);
    expect(checkStep({ ...step({}), answer: { error: 'timeout: no answer' } }, env).map((b) => b.invariant)).toEqual(['fuzz.no-server-error']);
  });

  it('no-internals: a stack frame in an error body', () => {
    expect(broken(step({ status: 400, body: 'TypeError: x is undefined\n    at handler (/app/server.js:10:5)' }))).toContain('fuzz.no-internals');
  });

  it('rights-enforced: callers without rights get 401/403; a 4xx only for a malformed request; a 5xx is not counted here', () => {
    expect(broken(step({ caller: ANONYMOUS }))).toContain('fuzz.rights-enforced');
    expect(broken(step({ caller: FORBIDDEN, status: 404, body: '{}' }))).toEqual(['fuzz.rights-enforced']);
    expect(broken(step({ caller: FORBIDDEN, status: 403, body: '{}' }))).toEqual([]);
    expect(broken(step({ caller: ANONYMOUS, status: 400, body: '{}', ask: ask({ wellFormed: false }) }))).toEqual([]);
    expect(broken(step({ caller: ANONYMOUS, status: 500, body: '{}' }))).toEqual(['fuzz.no-server-error']);
    // The forbidden caller may read requests; an anonymous one may not.
    expect(broken({ ...step({ caller: FORBIDDEN, body: '{}' }), endpoint: 'read-request', ask: undefined })).toEqual([]);
    expect(broken({ ...step({ caller: ANONYMOUS, body: '{}' }), endpoint: 'read-request', ask: undefined })).toEqual(['fuzz.rights-enforced']);
  });

  it('ids-enforced and params-required: a 200 for mismatched ids or without a challenge', () => {
    expect(broken(step({ ask: ask({ target: { mismatch: 'scid x does not belong to request y' } }) }))).toEqual(['fuzz.ids-enforced']);
    expect(broken(step({ status: 404, body: '{}', ask: ask({ target: { mismatch: 'unknown' } }) }))).toEqual([]);
    expect(broken(step({ ask: ask({ missing: ['challenge'], challenge: { kind: 'missing' } }) }))).toEqual(['fuzz.params-required']);
  });

  it('no-key-material: a key in an error body; not the diversifiedkey 200 to the caller with rights; not an echo of what was sent', () => {
    expect(broken(step({ status: 400, body: `{"Message":"key ${DIVERSIFIED.toString('hex').toUpperCase()}"}` }))).toEqual(['fuzz.no-key-material']);
    const key = {
      ...step({ body: JSON.stringify(DIVERSIFIED.toString('base64')) }),
      endpoint: 'diversifiedkey' as const,
      ask: ask({ challenge: undefined, diversified: undefined }),
    };
    expect(broken(key)).toEqual([]);
    expect(broken({ ...key, caller: FORBIDDEN })).toEqual(['fuzz.rights-enforced', 'fuzz.no-key-material']);
    const echoed = DIVERSIFIED.toString('base64');
    expect(
      broken(step({ status: 400, body: `{"Message":"challenge ${echoed} is too long"}`, sent: { url: `http://h/x?challenge=${encodeURIComponent(echoed)}` } })),
    ).toEqual([]);
  });

  it('cryptogram-verifies: the virtual card refuses a wrong cryptogram; an unknown diversified key defers judgement', () => {
    expect(broken(step({ body: JSON.stringify(Buffer.alloc(8).toString('base64')) }))).toEqual(['fuzz.cryptogram-verifies']);
    expect(broken(step({ body: '"not base64!"' }))).toEqual(['fuzz.cryptogram-verifies']);
    deferred.length = 0;
    const unknown = card({ diversifiedKey: undefined });
    expect(broken(step({ ask: ask({ target: { card: unknown, request: request() }, diversified: true }) }))).toEqual([]);
    expect(deferred).toHaveLength(1);
  });

  it('SHOULD: no 200 under a closed request, for a Retired card, or to input no card sends', () => {
    expect(broken(step({ ask: ask({ target: { card: card(), request: request({ status: 'Completed' }) } }) }))).toEqual(['fuzz.closed-request-silent']);
    expect(broken(step({ ask: ask({ target: { card: card({ status: 'Retired' }), request: request() } }) }))).toEqual(['fuzz.retired-card-silent']);
    expect(broken(step({ ask: ask({ target: { card: card(), request: request({ status: 'uncertain' }) } }) }))).toEqual([]);
    expect(broken(step({ ask: ask({ challenge: { kind: 'invalid', why: 'it is not base64' } }) }))).toEqual(['fuzz.bad-input-refused']);
    expect(INVARIANTS.filter((i) => i.level === 'SHOULD').map((i) => i.id)).toEqual([
      'fuzz.closed-request-silent',
      'fuzz.retired-card-silent',
      'fuzz.bad-input-refused',
    ]);
  });
});

describe('replay paths', () => {
  it('round-trips fast-check path and replayPath, and reads the replayPath fast-check prints', () => {
    const point = { path: '36:1:0:0', replayPath: 'CDB:A/g+' };
    expect(decodePath(encodePath(point))).toEqual(point);
    expect(decodePath('7')).toEqual({ path: '7' });
    expect(replayPathOf(['create,ask /*replayPath="CDB:Ag"*/'])).toBe('CDB:Ag');
    expect(replayPathOf(['create,ask'])).toBeUndefined();
  });

  it('refuses what it did not print, in one line naming the flag', () => {
    for (const bad of ['', 'x', '1:a', '1~2~3', '1:2~no spaces:x']) expect(() => decodePath(bad)).toThrow(/^--path/);
    expect(() => parseSeed('1.5')).toThrow(/^--seed/);
    expect(() => parseSeed('99999999999')).toThrow(/^--seed/);
    expect(parseSeed('-7')).toBe(-7);
  });

  it('the replay command quotes the path for a shell', () => {
    expect(replayCommand('cmcard fuzz', 5, '1:2~AB:C')).toBe("cmcard fuzz --seed 5 --path '1:2~AB:C'");
  });
});

describe('curl commands', () => {
  const callers = { headers: { Authorization: 'Bearer s3cr3t-token' }, forbiddenHeaders: { Authorization: 'Bearer n0-r1ghts', 'X-Tenant': 'acme-secret' } };

  it('credentials are ${ENV} placeholders in double quotes; the values never appear', () => {
    const rights = curlCommand({ method: 'GET', url: 'http://127.0.0.1:1/a?b=c&d=%2B', caller: RIGHTS }, callers);
    expect(rights).toBe(`curl -i -sS -g --path-as-is -H 'Accept: application/json' -H "Authorization: \${CM_AUTHORIZATION}" 'http://127.0.0.1:1/a?b=c&d=%2B'`);
    const forbidden = curlCommand({ method: 'PUT', url: 'http://h/r', caller: FORBIDDEN, body: `{"status":"it's"}` }, callers);
    expect(forbidden).toContain('-H "X-Tenant: ${CM_FORBIDDEN_X_TENANT}"');
    expect(forbidden).toContain(`--data-raw '{"status":"it'\\''s"}'`);
    for (const text of [rights, forbidden]) {
      expect(text).not.toContain('s3cr3t');
      expect(text).not.toContain('n0-r1ghts');
      expect(text).not.toContain('acme-secret');
    }
    expect(curlCommand({ method: 'GET', url: 'http://h/x', caller: ANONYMOUS }, callers)).not.toMatch(/Authorization/);
    expect(curlCommand({ method: 'GET', url: 'http://h/x', caller: { kind: 'garbage', garbage: 0 } }, callers)).toContain(
      "-H 'Authorization: Bearer not-a-real-token'",
    );
    expect(envName('rights', 'x-api-key')).toBe('CM_X_API_KEY');
    expect(curlEnvNote(new Set(['rights']), callers)).toContain('CM_AUTHORIZATION');
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });

  it("a Kerberos or NTLM caller gets curl's own flags, and the note names the password variable", () => {
    const viaMechanisms = {
      headers: {},
      auth: curlAuth({ type: 'negotiate' }, 'rights'),
      forbiddenAuth: curlAuth({ type: 'ntlm', username: 'bob', domain: 'CONTOSO', password: 'b0bs-pw' }, 'forbidden', { password: '${BOB_PW}' }),
    };
    expect(curlCommand({ method: 'GET', url: 'http://h/x', caller: RIGHTS }, viaMechanisms)).toBe(
      `curl -i -sS -g --path-as-is -H 'Accept: application/json' --negotiate -u : 'http://h/x'`,
    );
    const forbidden = curlCommand({ method: 'GET', url: 'http://h/x', caller: FORBIDDEN }, viaMechanisms);
    expect(forbidden).toContain(`--ntlm -u "CONTOSO\\\\bob:\${BOB_PW}" 'http://h/x'`);
    expect(forbidden).not.toContain('b0bs-pw');
    expect(curlEnvNote(new Set(['forbidden']), viaMechanisms)).toContain('BOB_PW to the NTLM password of the forbidden caller');
    expect(curlCommand({ method: 'GET', url: 'http://h/x', caller: ANONYMOUS }, viaMechanisms)).not.toMatch(/--ntlm|--negotiate/);
  });
});

describe('a finding as printed', () => {
  it('numbered steps with curl, the replay line, and a credential the server echoed masked', () => {
    const callers = { headers: { Authorization: 'Bearer s3cr3t-token' } };
    const steps: StepRecord[] = [
      {
        index: 1,
        title: 'read the request of card example, as the caller with rights',
        caller: RIGHTS,
        method: 'GET',
        path: '/api/requests/1',
        outcome: '200',
        raw: { headers: {}, answer: { status: 200, headers: {}, body: '', durationMs: 1 } },
      },
      {
        index: 2,
        title: 'create an Unblock request for card example, as the caller with rights',
        caller: RIGHTS,
        method: 'POST',
        path: '/api/requests',
        body: '{}',
        outcome: '201',
        raw: { headers: {}, answer: { status: 201, headers: {}, body: '', durationMs: 1 } },
      },
    ];
    const text = renderFinding(
      {
        invariant: invariant('fuzz.ids-enforced'),
        brk: { invariant: 'fuzz.ids-enforced', step: 2, message: 'the server said Bearer s3cr3t-token' },
        steps,
        seed: 9,
        path: '3:1',
        found: { sequence: 4, shrinkRuns: 7 },
      },
      { origin: 'http://127.0.0.1:9', callers, replay: "cmcard fuzz --seed 9 --path '3:1'", redactor: Redactor.forHeaders(callers.headers) },
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('step 2 of 2: the server said [redacted]');
    expect(lines[1]).toBe('found in sequence 4 (seed 9), shrunk in 7 runs to these 2 steps:');
    expect(lines[2]).toBe('1. read the request of card example, as the caller with rights -> 200');
    expect(lines[3]).toMatch(/^ {3}curl .*'http:\/\/127\.0\.0\.1:9\/api\/requests\/1'$/);
    expect(lines[4]).toMatch(/^2\. create/);
    expect(text).toContain('The server makes new ids in step 2');
    expect(lines.at(-1)).toBe("replay: cmcard fuzz --seed 9 --path '3:1'");
    expect(text).not.toContain('s3cr3t');
  });
});

describe('the model', () => {
  it('picks a closed request or a retired card first, then a read request, then the most recently touched', () => {
    const config = {
      server: 'http://h',
      basePath: '/b',
      headers: {},
      timeoutMs: 1,
      lifecycle: true,
      source: 't',
      cards: [
        {
          name: 'a',
          reqid: '11111111-1111-4111-8111-111111111111',
          scid: '22222222-2222-4222-8222-222222222222',
          cardid: '33333333-3333-4333-8333-333333333333',
          adminKey: ZERO_KEY,
        },
        {
          name: 'b',
          reqid: '44444444-4444-4444-8444-444444444444',
          scid: '55555555-5555-4555-8555-555555555555',
          cardid: '66666666-6666-4666-8666-666666666666',
          adminKey: ZERO_KEY,
        },
      ],
    };
    const m = FuzzModel.fromConfig(config);
    expect(m.links().map((l) => l.card.label)).toEqual(['card b', 'card a']);
    const made = m.addRequest('77777777-7777-4777-8777-777777777777', ['22222222-2222-4222-8222-222222222222']);
    expect(m.links()[0]!.request).toBe(made);
    m.markRead(m.request('44444444-4444-4444-8444-444444444444')!);
    expect(m.links()[0]!.card.label).toBe('card b');
    const fresh = m.addCard(made, '88888888-8888-4888-8888-888888888888', '99999999-9999-4999-8999-999999999999', m.templateKeyOf(made)!);
    fresh.status = 'Retired';
    expect(m.links()[0]!.card).toBe(fresh);
    expect(m.belongs(made.reqid, fresh.scid)).toBe(true);
    expect(m.belongs('44444444-4444-4444-8444-444444444444', fresh.scid)).toBe(false);
  });
});

describe('the console names a fuzz run and shows its headway on a TTY', () => {
  it('header in invariants, progress in the status line, none of it off a TTY', async () => {
    const { consoleReporter } = await import('../../harness/reporters/console.js');
    const run = {
      tool: { name: 'cmcard', version: '1' },
      kind: 'fuzz' as const,
      server: 'http://127.0.0.1:1',
      startedAt: '',
      cases: INVARIANTS.map(({ id, title, level }) => ({ id, title, level })),
    };
    for (const tty of [true, false]) {
      let out = '';
      const r = consoleReporter({ stream: { write: (t: string) => (out += t), columns: 200 }, tty, color: false });
      r.onRunStart?.(run);
      r.onProgress?.({ text: '12/100 sequences, 98 steps, 0 broken' });
      expect(out).toContain('cmcard 1 fuzz: 10 invariants against http://127.0.0.1:1\n');
      if (tty) expect(out).toContain('12/100 sequences, 98 steps, 0 broken');
      else expect(out).not.toContain('sequences');
    }
  });
});

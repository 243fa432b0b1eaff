// The card's cost: challenge+verify operations per second against raw node:crypto des-ede3
// encryptions in the same process (target: at least 50%), and heap bytes per card with
// 100,000 cards in memory (target: under 2 KB). Run: npm run bench -- card
import { createCipheriv, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { VirtualCard } from '../simulator/card.js';
import { tdesEncrypt } from '../simulator/tdes.js';

const KEY = Buffer.from('0123456789abcdef23456789abcdef01456789abcdef0123', 'hex');
const RING = 1024;
const ROUNDS = 7;
const ROUND_MS = 400;

/** Runs `op` in batches for about `ms` and returns operations per second. */
function opsPerSecond(op: () => void, ms: number): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const stop = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < stop) {
    for (let i = 0; i < 256; i++) op();
    n += 256;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export default async function run(): Promise<string> {
  // Raw 3DES: one encryption of one block per operation, as any verifier of a fresh
  // challenge must do (a new cipher context each time, as tdes.ts and the card use).
  const block = randomBytes(8);
  const raw = () => {
    const c = createCipheriv('des-ede3', KEY, null);
    c.setAutoPadding(false);
    c.update(block);
    c.final();
  };

  // The card's side only: challenges come from a precomputed ring whose responses are
  // known, so the loop measures getChallenge + authenticateAdmin and nothing else.
  const challenges = Array.from({ length: RING }, () => randomBytes(8));
  const responses = challenges.map((c) => tdesEncrypt(KEY, c));
  let next = 0;
  const card = VirtualCard.create(
    { adminKey: KEY, pin: '1234', adminTries: null, cardId: 'bc88f13f-83ba-4037-8262-46eba1291c6e' },
    { random: () => challenges[next++ % RING]! },
  );
  let k = 0;
  let failures = 0;
  const cardOp = () => {
    card.getChallenge();
    if (!card.authenticateAdmin(responses[k++ % RING]!).ok) failures++;
  };

  // The card with its own (system) random source. Its responses cannot be precomputed,
  // so in unlimited mode it is answered with a wrong response: the card does the same work
  // (draw, persist, encrypt, constant-time compare) as for a right one.
  const sysCard = VirtualCard.create({ adminKey: KEY, pin: '1234', adminTries: null });
  const wrong = Buffer.alloc(8);
  const sysOp = () => {
    sysCard.getChallenge();
    if (sysCard.authenticateAdmin(wrong).ok) failures++;
  };

  // End to end in one process: system random challenge, response computed, card verifies.
  const e2eCard = VirtualCard.create({ adminKey: KEY, pin: '1234', adminTries: null });
  const e2eOp = () => {
    const ch = e2eCard.getChallenge();
    if (!e2eCard.authenticateAdmin(tdesEncrypt(KEY, ch)).ok) failures++;
  };

  const ops = { raw, cardOp, sysOp, e2eOp };
  const runs: Record<keyof typeof ops, number[]> = { raw: [], cardOp: [], sysOp: [], e2eOp: [] };
  for (const op of Object.values(ops)) opsPerSecond(op, 150); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, op] of Object.entries(ops)) runs[name as keyof typeof ops].push(opsPerSecond(op, ROUND_MS));
  }
  if (failures > 0) throw new Error(`${failures} responses were judged wrongly by the card`);
  const rawOps = median(runs.raw);
  const cardOps = median(runs.cardOp);
  const sysOps = median(runs.sysOp);
  const e2eOps = median(runs.e2eOp);
  // Ratios taken within each round, then their median: a shared machine's load drifts
  // between rounds, and a ratio of two medians would mix rounds of different load.
  const ratio = (xs: number[]) => median(xs.map((x, r) => x / runs.raw[r]!));

  const perCard = heapPerCard(100_000);
  const cpu = cpus();
  const pct = (xs: number[]) => `${(100 * ratio(xs)).toFixed(0)}%`;
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  return [
    '## The virtual card (`bench/card.bench.ts`)',
    '',
    `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}. Median of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms; ratios are the median of per-round ratios.`,
    '',
    '| measure | result | vs raw des-ede3 | target |',
    '|---|---:|---:|---|',
    `| raw \`node:crypto\` des-ede3, one 8-byte block per new cipher (baseline) | ${f(rawOps)} ops/s | 100% | |`,
    `| card: \`getChallenge()\` + \`authenticateAdmin(right response)\`, challenges from a precomputed ring | ${f(cardOps)} ops/s | ${pct(runs.cardOp)} | >= 50% ${ratio(runs.cardOp) >= 0.5 ? 'met' : 'MISSED'} |`,
    `| card with its system random source: \`getChallenge()\` + \`authenticateAdmin()\` (unlimited mode, refused answer: same work) | ${f(sysOps)} ops/s | ${pct(runs.sysOp)} | >= 50% ${ratio(runs.sysOp) >= 0.5 ? 'met' : 'MISSED'} |`,
    `| end to end: system random challenge, response computed, card verifies | ${f(e2eOps)} ops/s | ${pct(runs.e2eOp)} | (two 3DES per op) |`,
    `| heap per card, 100,000 cards in memory, each with a pending challenge | ${perCard === null ? 'n/a (run node with --expose-gc)' : `${f(perCard)} bytes`} | | < 2048 ${perCard === null ? '' : perCard < 2048 ? 'met' : 'MISSED'} |`,
    '',
  ].join('\n');
}

/** Heap growth per card, measured between two full collections; null without --expose-gc. */
function heapPerCard(count: number): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  const keys = randomBytes(24 * count);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const cards: VirtualCard[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const card = VirtualCard.create({ adminKey: keys.subarray(i * 24, i * 24 + 24), pin: '12345678' });
    card.getChallenge(); // a card in use holds a pending challenge
    cards[i] = card;
  }
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (cards.length !== count) throw new Error('cards were collected');
  return (after - before) / count;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());

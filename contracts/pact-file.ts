/**
 * Reading the committed pact: its location, a stable normal form (for the drift check)
 * and the facts verification needs about each interaction (states, caller).
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../simulator/errors.js';
import { CALLERS, PACT_FILE_NAME, type Caller } from './fixtures.js';

/** contracts/pacts/cmcard-mim-cm.json, found from this module whether it runs from source or dist/. */
export function committedPactPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = basename(dirname(here)) === 'dist' ? resolve(here, '../..') : resolve(here, '..');
  return resolve(root, 'contracts/pacts', PACT_FILE_NAME);
}

export interface PactInteraction {
  description: string;
  providerStates?: Array<{ name: string; params?: Record<string, unknown> }>;
  request: { method: string; path: string; query?: Record<string, string[]>; headers?: Record<string, string[] | string> };
  response: { status: number };
  [key: string]: unknown;
}

export interface PactDocument {
  consumer: { name: string };
  provider: { name: string };
  interactions: PactInteraction[];
  metadata?: Record<string, unknown>;
}

export function readPact(file: string): PactDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read pact file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InputError(`pact file ${file} is not JSON`);
  }
  if (!isPact(doc)) throw new InputError(`pact file ${file} is not a pact (needs consumer, provider and interactions)`);
  return doc;
}

function isPact(doc: unknown): doc is PactDocument {
  if (typeof doc !== 'object' || doc === null) return false;
  const d = doc as Record<string, unknown>;
  return typeof d.consumer === 'object' && typeof d.provider === 'object' && Array.isArray(d.interactions);
}

/**
 * The pact without what changes from run to run or tool version to tool version (the
 * library versions in metadata), interactions sorted by description: two runs that pin
 * the same contract give the same text.
 */
export function normalisePact(doc: PactDocument): string {
  const metadata = { ...(doc.metadata ?? {}) };
  delete metadata['pact-js'];
  delete metadata['pactRust'];
  const interactions = [...doc.interactions].sort((a, b) => a.description.localeCompare(b.description));
  return `${JSON.stringify(sortKeys({ ...doc, metadata, interactions }), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

/** Who an interaction's request speaks as, read from its Authorization example value. */
export function callerOf(interaction: PactInteraction): Caller {
  const headers = interaction.request.headers ?? {};
  const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization');
  if (!entry) return 'anonymous';
  const value = Array.isArray(entry[1]) ? entry[1][0] : entry[1];
  return value === CALLERS.noRights ? 'noRights' : 'helpdesk';
}

export function statesOf(interaction: PactInteraction): string[] {
  return (interaction.providerStates ?? []).map((s) => s.name);
}

/** The tags in the interaction's V4 `comments.tags` (strings only; none when absent). */
export function tagsOf(interaction: PactInteraction): string[] {
  const comments = interaction.comments;
  if (typeof comments !== 'object' || comments === null) return [];
  const tags = (comments as { tags?: unknown }).tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

/**
 * Bodies in messages, shown so what differs is visible: as a JSON string literal (quotes
 * escaped, whitespace and control characters spelled out) with the characters that print
 * as nothing (a byte order mark, a no-break or zero-width space) spelled out too. A body
 * that lacks its JSON quotes and one that has them no longer look alike:
 * `"F0Zudm4wPLY="` versus `"\"F0Zudm4wPLY=\""`.
 */
import type { Redactor } from './redact.js';

/** Invisible or confusable characters JSON.stringify leaves as they are (each listed alone, on purpose: combining marks included). */
// eslint-disable-next-line no-misleading-character-class
const INVISIBLE = /[\u007f-\u00a0\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ufeff\ufff9-\ufffb]/g;

/** The text as a JSON string literal, every invisible character spelled out (`\ufeff`). */
export function visible(text: string): string {
  return JSON.stringify(text).replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A body for a message: secrets masked first, then cut to `max` characters, then shown
 * with `visible`; the cut is marked outside the literal with the full length.
 */
export function quoteBody(body: string, redactor: Redactor, max = 80): string {
  if (body.length === 0) return '(empty body)';
  const masked = redactor.text(body);
  if (masked.length <= max) return visible(masked);
  return `${visible(masked.slice(0, max))}... (${masked.length} characters)`;
}

/**
 * How a body differs from the one expected, in words: a missing pair of JSON quotes, a
 * byte order mark, whitespace around it, other escapes for the same string, or where the
 * first difference is. null when they are equal.
 */
export function describeDifference(got: string, expected: string): string | null {
  if (got === expected) return null;
  if (got.charCodeAt(0) === 0xfeff && got.slice(1) === expected) return 'the body starts with a byte order mark (U+FEFF)';
  if (got.trim() === expected) return 'the body has whitespace around it';
  if (expected.startsWith('"') && expected.endsWith('"') && got.trim() === expected.slice(1, -1)) return 'the JSON string quotes are missing';
  if (sameJson(got, expected)) return 'the same JSON value, written with other escapes or spacing';
  let i = 0;
  while (i < got.length && i < expected.length && got[i] === expected[i]) i++;
  if (i >= got.length) return `the body ends after ${got.length} characters, where ${visible(expected.slice(i, i + 12))} was still expected`;
  if (i >= expected.length) return `the body goes on after the expected ${expected.length} characters with ${visible(got.slice(i, i + 12))}`;
  return `they differ from character ${i + 1} on: ${visible(got.slice(i, i + 12))} where ${visible(expected.slice(i, i + 12))} was expected`;
}

function sameJson(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}

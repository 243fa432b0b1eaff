/** Two helpers every config reader needs (the config file, its auth blocks). */

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value for an error message; long strings are abbreviated so a pasted secret does not fill the screen. */
export function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return v.length > 24 ? `a ${v.length}-character string` : JSON.stringify(v);
  return String(v);
}

/** A body on one line for a message or a trace: whitespace runs become one space, other control characters `?`, cut at `max` characters. */
export function oneLine(body: string, max = 120): string {
  if (body.length === 0) return '(empty body)';
  const s = body.replace(/\s+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '?');
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

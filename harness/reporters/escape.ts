/**
 * Escaping for the markup reporters. Response bodies come from the server under test and
 * may hold anything: markup, quotes, NUL and other control characters.
 */

// Characters that XML 1.0 forbids even as character references, plus DEL and the C1
// controls (parse errors in HTML), U+FFFE/U+FFFF, and lone surrogates (the `u` flag makes a
// surrogate class match only unpaired halves). They are shown as visible `\xNN` / `\uNNNN` text.
const UNSAFE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;

export function visibleControls(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '\r': '&#13;',
};

/** Safe in XML/HTML text and in quoted attribute values (line breaks kept as text). */
export function escapeMarkup(text: string): string {
  return visibleControls(text).replace(/[&<>"'\r]/g, (c) => ENTITIES[c] ?? c);
}

/** For attribute values whose tabs and line breaks must survive attribute normalisation. */
export function escapeAttribute(text: string): string {
  return escapeMarkup(text).replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

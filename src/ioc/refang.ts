// Undoing defanging. Analysts break indicators on purpose so nobody clicks them; the pipeline must
// put them back together before it can compare them. Every pattern here is anchored on a bracket,
// a backslash, a scheme position or surrounding spaces, so none of them backtracks.

/** Characters whose presence means a value may be defanged or wrapped; absent, refanging is skipped. */
const MAY_BE_DEFANGED = /[[\](){}\\<>"'`\uFF0E\u3002\uFF61\s]|^[hf]xx|^fxp/i;

/** `[.]`, `( . )`, `{dot}`, `[:]`, `[://]`, `[@]`, `(at)`, `[/]`, with optional spaces inside and around. */
const BRACKETED = /\s*[[({]\s*(\.|dot|:\/\/|:|@|at|\/)\s*[\])}]\s*/gi;
/** ` dot ` and ` DOT ` written as a word between spaces. */
const SPACED_DOT = /\s+dot\s+/gi;
/** `hxxp`, `hXXp`, `hxxps`, `hxxxp`, `fxp`, `fxps`, `fxxp`; only at the start and before `:` or a bracket. */
const DEFANGED_SCHEME = /^(?:hx{2,3}p(s?)|fx{1,2}p(s?))(?=[:[({])/i;
const FULL_WIDTH_DOTS = /[\uFF0E\u3002\uFF61]/g;
const OPENERS: Record<string, string> = { '"': '"', "'": "'", '`': '`', '<': '>', '(': ')', '[': ']', '{': '}' };

const BRACKETED_SYMBOL: Record<string, string> = { '.': '.', dot: '.', ':': ':', '://': '://', '@': '@', at: '@', '/': '/' };

/** Removes whitespace, matching quotes or brackets around a value and punctuation trailing it. */
export function unwrap(text: string): string {
  let value = text.trim();
  for (;;) {
    const closer = OPENERS[value[0] ?? ''];
    if (closer !== undefined && value.length >= 2 && value.endsWith(closer)) {
      value = value.slice(1, -1).trim();
      continue;
    }
    const end = endWithoutTrailingPunctuation(value);
    if (end < value.length) {
      value = value.slice(0, end).trimEnd();
      continue;
    }
    return value;
  }
}

/** Sentence punctuation after a value is not part of it; a final `::` is, in IPv6 (`2001:db8::`). */
export function endWithoutTrailingPunctuation(value: string): number {
  let end = value.length;
  while (end > 0) {
    const c = value.charCodeAt(end - 1);
    if (c === 46 || c === 44 || c === 59) end--;
    else if (c === 58 && (end < 2 || value.charCodeAt(end - 2) !== 58)) end--;
    else break;
  }
  return end;
}

/** Rewrites a defanged scheme (`hxxps[:]//`) at the start of the text. */
export function refangScheme(text: string): string {
  if (!MAY_BE_DEFANGED.test(text)) return text;
  let value = text.replace(DEFANGED_SCHEME, (match, httpS: string | undefined, ftpS: string | undefined) =>
    match[0]!.toLowerCase() === 'h' ? `http${httpS ?? ''}` : `ftp${ftpS ?? ''}`,
  );
  value = value.replace(/^([a-z][a-z0-9+.-]*)\s*(?:\[:\]|\(:\)|\{:\})\s*\/\//i, '$1://');
  value = value.replace(/^([a-z][a-z0-9+.-]*)\s*(?:\[:\/\/\]|\(:\/\/\)|\{:\/\/\})\s*/i, '$1://');
  return value;
}

/**
 * Refangs a host, an address or a whole non-URL value: bracketed symbols, ` dot `, `\.`,
 * full-width dots. Applied until nothing changes, so that the result is a fixed point and
 * normalising a canonical value again gives the same value.
 */
export function refangHost(text: string): string {
  if (!MAY_BE_DEFANGED.test(text)) return text;
  let value = text;
  for (;;) {
    const next = value
      .replace(FULL_WIDTH_DOTS, '.')
      .replace(BRACKETED, (_match, symbol: string) => BRACKETED_SYMBOL[symbol.toLowerCase()] ?? symbol)
      .replace(SPACED_DOT, '.')
      .replaceAll('\\.', '.');
    if (next === value) return value;
    value = next;
  }
}

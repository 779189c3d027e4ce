// Undoing defanging. Analysts break indicators on purpose so nobody clicks them; the pipeline must
// put them back together before it can compare them. Every pattern here is anchored on a bracket,
// a backslash, a scheme position or surrounding spaces, so none of them backtracks.

/** A whole scheme name written `hxxp`, `hXXp`, `hxxps`, `hxxxp`, `fxp`, `fxps`, `fxxp`. */
const DEFANGED_SCHEME = /^(?:hx{2,3}p(s?)|fx{1,2}p(s?))$/i;
const OPENERS: Record<string, string> = {
  '"': '"',
  "'": "'",
  '`': '`',
  '<': '>',
  '(': ')',
  '[': ']',
  '{': '}',
};

const BRACKETED_SYMBOL: Record<string, string> = {
  '.': '.',
  dot: '.',
  ':': ':',
  '://': '://',
  '@': '@',
  at: '@',
  '/': '/',
};

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

/** Rewrites a defanged scheme (`hxxps`, `fxp`, `http[:]//`, `http[://]`) at the start of the text. */
export function refangScheme(text: string): string {
  let end = 0;
  while (end < text.length && end <= 30 && isSchemeChar(text.charCodeAt(end))) end++;
  if (end === 0) return text;
  let scheme = text.slice(0, end);
  let rest: string;
  const next = text.charCodeAt(end);
  if (next === 58 /* : */) {
    if (!text.startsWith('//', end + 1)) return text;
    if (!isDefangedSchemeName(scheme)) return text;
    rest = text.slice(end + 3);
  } else if (next === 91 || next === 40 || next === 123 || next === 32 /* [ ( { space */) {
    const separator = BRACKETED_SCHEME_SEPARATOR.exec(text.slice(end));
    if (!separator) return text;
    rest = text.slice(end + separator[0].length);
  } else {
    return text;
  }
  if (isDefangedSchemeName(scheme)) {
    scheme = scheme.replace(DEFANGED_SCHEME, (match, httpS: string | undefined, ftpS: string | undefined) =>
      (match.charCodeAt(0) | 32) === 104 ? `http${httpS ?? ''}` : `ftp${ftpS ?? ''}`,
    );
  }
  return `${scheme}://${rest}`;
}

function isDefangedSchemeName(scheme: string): boolean {
  const first = scheme.charCodeAt(0) | 32;
  return (
    (first === 104 || first === 102) &&
    (scheme.includes('x') || scheme.includes('X')) &&
    DEFANGED_SCHEME.test(scheme)
  );
}

function isSchemeChar(c: number): boolean {
  // RFC 3986 also allows `.` in a scheme; no scheme an indicator may have contains one.
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 43 || c === 45;
}

/** Refanges a scheme separator written `[:]//`, `(:)//`, `[://]`, with optional spaces. */
const BRACKETED_SCHEME_SEPARATOR = /^\s*(?:[[({]:[\])}]\s*\/\/|[[({]:\/\/[\])}])\s*/;

/** One pass over every host-level defang style; the replacer maps each match to its symbol. */
const HOST_DEFANG = /\s*[[({]\s*(\.|dot|:\/\/|:|@|at|\/)\s*[\])}]\s*|\s+dot\s+|\\\.|[\uFF0E\u3002\uFF61]/gi;

/**
 * Refangs a host, an address or a whole non-URL value: bracketed symbols, ` dot `, `\.`,
 * full-width dots. Applied until nothing changes, so that the result is a fixed point and
 * normalising a canonical value again gives the same value.
 */
export function refangHost(text: string): string {
  let value = text;
  while (mayHaveHostDefang(value)) {
    const next = value.replace(HOST_DEFANG, refangedSymbol);
    if (next === value) return value;
    value = next;
  }
  return value;
}

/** A bracketed symbol maps to itself (`dot` and `at` to `.` and `@`); the other styles are all dots. */
function refangedSymbol(_match: string, symbol: string | undefined): string {
  return symbol === undefined ? '.' : (BRACKETED_SYMBOL[symbol.toLowerCase()] ?? symbol);
}

/** A single scan instead of a regex: almost every value has none of these characters. */
function mayHaveHostDefang(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (
      c === 91 ||
      c === 40 ||
      c === 123 ||
      c === 92 ||
      c <= 32 ||
      c === 0xff0e ||
      c === 0x3002 ||
      c === 0xff61
    )
      return true;
  }
  return false;
}

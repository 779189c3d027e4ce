// STIX 2.1 patterns, as far as this pipeline can take them: one or more observation expressions joined by
// OR, each holding comparisons `<object path> = '<string>'` joined by OR, on the object paths the
// normaliser knows. Anything else — AND (all must hold on one object, or across objects), FOLLOWEDBY,
// NOT, !=, <, >, LIKE, MATCHES, IN, ISSUBSET/ISSUPERSET, EXISTS, temporal qualifiers (WITHIN, REPEATS,
// START/STOP) — is rejected with the reason, never reduced to a guess: `[url:value LIKE '%evil%']` is
// not the indicator `%evil%`, and `[a AND b]` is not two indicators.

/** One value a pattern names, with the STIX object path as the normaliser's type hint. */
export interface PatternObservable {
  path: string;
  value: string;
}

export type PatternResult = { ok: true; observables: PatternObservable[] } | { ok: false; reason: string };

/** Object paths whose values are indicators here (lower case, quotes removed, as the hint table keys). */
const SUPPORTED_PATHS = new Set([
  'ipv4-addr:value',
  'ipv6-addr:value',
  'domain-name:value',
  'url:value',
  'email-addr:value',
  'file:hashes.md5',
  'file:hashes.sha-1',
  'file:hashes.sha1',
  'file:hashes.sha-256',
  'file:hashes.sha256',
]);

type Token =
  | { kind: 'path'; text: string }
  | { kind: 'string'; text: string; value: string }
  | { kind: 'word'; text: string }
  | { kind: 'op'; text: string }
  | { kind: 'punct'; text: string }
  | { kind: 'literal'; text: string };

const TOKEN =
  /\s+|(?<string>'(?:[^'\\]|\\.)*')|(?<literal>[tbh]'[^']*'|-?\d+(?:\.\d+)?)|(?<path>[a-z0-9_-]+:[a-z0-9_]+(?:\.(?:'[^']*'|[a-z0-9_-]+)|\[(?:\*|\d+)\])*)|(?<word>[A-Za-z_]+)|(?<op>!=|<=|>=|=|<|>)|(?<punct>[[\]()])/giy;

function tokenize(pattern: string): Token[] | string {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < pattern.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(pattern);
    if (!m) return `cannot read the pattern at character ${at + 1}`;
    const g = m.groups ?? {};
    if (g.string !== undefined) {
      tokens.push({ kind: 'string', text: g.string, value: g.string.slice(1, -1).replace(/\\(.)/g, '$1') });
    } else if (g.literal !== undefined) tokens.push({ kind: 'literal', text: g.literal });
    else if (g.path !== undefined) tokens.push({ kind: 'path', text: g.path });
    else if (g.word !== undefined) tokens.push({ kind: 'word', text: g.word.toUpperCase() });
    else if (g.op !== undefined) tokens.push({ kind: 'op', text: g.op });
    else if (g.punct !== undefined) tokens.push({ kind: 'punct', text: g.punct });
  }
  return tokens;
}

const QUALIFIERS = new Set(['WITHIN', 'REPEATS', 'START', 'STOP', 'TIMES', 'SECONDS']);
const OPERATORS = new Set(['LIKE', 'MATCHES', 'ISSUBSET', 'ISSUPERSET', 'IN', 'EXISTS']);

class Rejected extends Error {}

/** The observables of a pattern, or why it cannot be taken. */
export function parseStixPattern(pattern: string): PatternResult {
  const tokens = tokenize(pattern);
  if (typeof tokens === 'string') return { ok: false, reason: tokens };
  let i = 0;
  const peek = (): Token | undefined => tokens[i];
  function reject(reason: string): never {
    throw new Rejected(reason);
  }
  const expect = (text: string): void => {
    const t = tokens[i];
    if (!t || t.text !== text) reject(`expected ${text} ${t ? `before ${t.text}` : 'at the end'}`);
    i++;
  };
  const observables: PatternObservable[] = [];

  function describeWord(t: Token): never {
    if (t.text === 'AND') reject('AND is not supported: every comparison would have to hold at once');
    if (t.text === 'FOLLOWEDBY') reject('FOLLOWEDBY (a sequence of observations) is not supported');
    if (t.text === 'NOT') reject('negation (NOT) is not supported');
    if (QUALIFIERS.has(t.text)) reject(`the qualifier ${t.text} is not supported`);
    if (OPERATORS.has(t.text)) reject(`the operator ${t.text} is not supported`);
    return reject(`unexpected ${t.text}`);
  }

  function comparison(): void {
    const t = peek();
    if (t?.text === '(') {
      i++;
      comparisons();
      expect(')');
      return;
    }
    if (t?.kind === 'word') describeWord(t);
    if (t?.kind !== 'path') reject(`expected an object path${t ? ` before ${t.text}` : ''}`);
    i++;
    const op = peek();
    if (op?.kind === 'word') describeWord(op);
    if (op?.kind !== 'op') reject(`expected an operator after ${t.text}`);
    if (op.text !== '=') reject(`the operator ${op.text} is not supported`);
    i++;
    const value = peek();
    if (value?.kind !== 'string') reject(`expected a quoted string after ${t.text} =`);
    i++;
    const key = t.text.toLowerCase().replace(/'/g, '');
    if (!SUPPORTED_PATHS.has(key))
      reject(`the object path ${t.text} does not name an indicator handled here`);
    observables.push({ path: t.text, value: value.value });
  }

  function comparisons(): void {
    comparison();
    while (peek()?.text === 'OR') {
      i++;
      comparison();
    }
    const t = peek();
    if (t?.kind === 'word') describeWord(t);
  }

  function observation(): void {
    const t = peek();
    if (t?.text === '(') {
      i++;
      observations();
      expect(')');
      return;
    }
    expect('[');
    comparisons();
    expect(']');
    const after = peek();
    if (after?.kind === 'word' && after.text !== 'OR') describeWord(after);
  }

  function observations(): void {
    observation();
    while (peek()?.text === 'OR') {
      i++;
      observation();
    }
  }

  try {
    observations();
    const rest = peek();
    if (rest) {
      if (rest.kind === 'word') describeWord(rest);
      reject(`unexpected ${rest.text}`);
    }
  } catch (err) {
    if (err instanceof Rejected) return { ok: false, reason: err.message };
    throw err;
  }
  if (observables.length === 0) return { ok: false, reason: 'no comparison' };
  return { ok: true, observables };
}

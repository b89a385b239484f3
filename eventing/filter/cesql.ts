/**
 * CloudEvents SQL (CESQL) v1: tokenizer, parser and evaluator.
 *
 * Sources: cloudevents/spec `cesql/spec.md` (types, operators, functions, casting
 * §3.7, error handling §4.1), `cesql/CESQLLexer.g4` and the parser grammar
 * `CESQLParser.g4` (operator precedence), and the TCK `cesql/cesql_tck/*.yaml`
 * whose case data lives in ./cesql-tck (see its README). Knative's `cesql`
 * Trigger dialect parses at admission and fails the filter on any evaluation
 * error (shared/reference/knative-eventing.md §1 "filters").
 *
 * Evaluation is total: it always yields a value, plus the list of errors met on
 * the way (spec §3.3). The rules the TCK pins down:
 *  - a missing attribute evaluates to `false` and raises `missingAttribute`;
 *  - when an operand or argument raised an error, the operator/function returns
 *    the zero value of its result type (false, 0, '') without computing — so
 *    `missing / 0` is 0 with missingAttribute only, never a math error;
 *  - when the operator's own implicit cast fails, the cast yields the target's
 *    zero value, a `cast` error is raised and the operator still runs
 *    (`NOT 10` is true plus a cast error).
 */

export type CesqlValue = boolean | number | string;

export type CesqlErrorKind = 'math' | 'cast' | 'missingFunction' | 'functionEvaluation' | 'missingAttribute';

export interface CesqlError {
  kind: CesqlErrorKind;
  message: string;
}

export interface CesqlResult {
  value: CesqlValue;
  /** Empty when the evaluation met no error. A filter passes only when this is empty and value === true. */
  errors: CesqlError[];
}

export type CompareOp = '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=';
export type ArithOp = '+' | '-' | '*' | '/' | '%';
export type LogicOp = 'AND' | 'OR' | 'XOR';

export type CesqlAst =
  | { kind: 'literal'; value: CesqlValue }
  | { kind: 'attr'; name: string }
  | { kind: 'exists'; name: string }
  | { kind: 'not'; operand: CesqlAst }
  | { kind: 'neg'; operand: CesqlAst }
  | { kind: 'logic'; op: LogicOp; left: CesqlAst; right: CesqlAst }
  | { kind: 'compare'; op: CompareOp; left: CesqlAst; right: CesqlAst }
  | { kind: 'arith'; op: ArithOp; left: CesqlAst; right: CesqlAst }
  | { kind: 'like'; operand: CesqlAst; pattern: string; regex: RegExp; negated: boolean }
  | { kind: 'in'; operand: CesqlAst; set: CesqlAst[]; negated: boolean }
  | { kind: 'call'; name: string; args: CesqlAst[] };

/** A syntax error; `position` is the 0-based offset in the expression, `column` the 1-based one. */
export class CesqlParseError extends Error {
  readonly position: number;
  readonly column: number;
  constructor(detail: string, position: number) {
    super(`CESQL parse error at column ${position + 1}: ${detail}`);
    this.name = 'CesqlParseError';
    this.position = position;
    this.column = position + 1;
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

// ---------------------------------------------------------------- tokenizer

type Token =
  | { t: 'int'; text: string; pos: number }
  | { t: 'str'; value: string; pos: number }
  | { t: 'word'; text: string; pos: number }
  | { t: 'op'; text: string; pos: number }
  | { t: 'eof'; pos: number };

const TWO_CHAR_OPS = new Set(['!=', '<>', '<=', '>=']);
const ONE_CHAR_OPS = new Set(['(', ')', ',', '=', '<', '>', '+', '-', '*', '/', '%']);

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    // CESQLLexer.g4 SPACE: [ \t\r\n]+ -> skip
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') { i++; continue; }
    if (c === "'" || c === '"') {
      const start = i;
      let value = '';
      i++;
      let closed = false;
      while (i < src.length) {
        const ch = src[i]!;
        if (ch === '\\' && i + 1 < src.length) {
          // The lexer takes backslash+char as one unit; only an escaped quote of the
          // literal's own kind is unescaped. Other backslashes stay, so LIKE still
          // sees `\%` and `\_` (TCK like_expression "Escaped ... wildcards").
          const next = src[i + 1]!;
          value += next === c ? c : ch + next;
          i += 2;
          continue;
        }
        if (ch === c) {
          if (src[i + 1] === c) { value += c; i += 2; continue; } // SQL-style doubled quote
          i++;
          closed = true;
          break;
        }
        value += ch;
        i++;
      }
      if (!closed) throw new CesqlParseError('unterminated string literal', start);
      out.push({ t: 'str', value, pos: start });
      continue;
    }
    if (/[A-Za-z0-9_]/.test(c)) {
      const start = i;
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i]!)) i++;
      const text = src.slice(start, i);
      out.push(/^[0-9]+$/.test(text) ? { t: 'int', text, pos: start } : { t: 'word', text, pos: start });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) { out.push({ t: 'op', text: two, pos: i }); i += 2; continue; }
    if (ONE_CHAR_OPS.has(c)) { out.push({ t: 'op', text: c, pos: i }); i++; continue; }
    throw new CesqlParseError(`unexpected character ${JSON.stringify(c)}`, i);
  }
  out.push({ t: 'eof', pos: src.length });
  return out;
}

// ------------------------------------------------------------------- parser

const KEYWORDS = new Set(['AND', 'OR', 'XOR', 'NOT', 'LIKE', 'EXISTS', 'IN', 'TRUE', 'FALSE']);

/**
 * Parses a CESQL v1 expression. Throws CesqlParseError (with the position) on a
 * syntax error. Precedence follows CESQLParser.g4, tightest first: unary NOT and
 * `-`; LIKE / IN; `* / %`; `+ -`; comparisons; AND / OR / XOR (one level,
 * right-associative, so `a AND b OR c` is `a AND (b OR c)`). Keywords and
 * function names are case-insensitive (spec §2); identifiers are lower-cased
 * because CloudEvents attribute names are lower-case only.
 */
export function parseCesql(expr: string): CesqlAst {
  const toks = tokenize(expr);
  let k = 0;
  const peek = (o = 0): Token => toks[Math.min(k + o, toks.length - 1)]!;
  const isKw = (tok: Token, kw: string) => tok.t === 'word' && tok.text.toUpperCase() === kw;
  const isOp = (tok: Token, op: string) => tok.t === 'op' && tok.text === op;
  const describe = (tok: Token) =>
    tok.t === 'eof' ? 'end of expression' : tok.t === 'str' ? 'string literal' : `'${tok.text}'`;
  const fail = (tok: Token, what: string): never => {
    throw new CesqlParseError(`${what}, found ${describe(tok)}`, tok.pos);
  };
  const expectOp = (op: string) => {
    const tok = peek();
    if (!isOp(tok, op)) fail(tok, `expected '${op}'`);
    k++;
  };

  function intLiteral(tok: Token & { t: 'int' }, negative: boolean): CesqlAst {
    const n = Number((negative ? '-' : '') + tok.text);
    // spec §2.2: integer literals MUST be valid 32 bit signed integers.
    if (n < INT32_MIN || n > INT32_MAX) throw new CesqlParseError(`integer literal ${negative ? '-' : ''}${tok.text} is out of the 32-bit range`, tok.pos);
    return { kind: 'literal', value: n };
  }

  function parseLogic(): CesqlAst {
    const left = parseComparison();
    const tok = peek();
    for (const op of ['AND', 'OR', 'XOR'] as const) {
      if (isKw(tok, op)) {
        k++;
        return { kind: 'logic', op, left, right: parseLogic() };
      }
    }
    return left;
  }

  function parseComparison(): CesqlAst {
    let left = parseAdditive();
    for (;;) {
      const tok = peek();
      if (tok.t === 'op' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(tok.text)) {
        k++;
        left = { kind: 'compare', op: tok.text as CompareOp, left, right: parseAdditive() };
      } else return left;
    }
  }

  function parseAdditive(): CesqlAst {
    let left = parseMultiplicative();
    for (;;) {
      const tok = peek();
      if (isOp(tok, '+') || isOp(tok, '-')) {
        k++;
        left = { kind: 'arith', op: (tok as { text: string }).text as ArithOp, left, right: parseMultiplicative() };
      } else return left;
    }
  }

  function parseMultiplicative(): CesqlAst {
    let left = parsePostfix();
    for (;;) {
      const tok = peek();
      if (isOp(tok, '*') || isOp(tok, '/') || isOp(tok, '%')) {
        k++;
        left = { kind: 'arith', op: (tok as { text: string }).text as ArithOp, left, right: parsePostfix() };
      } else return left;
    }
  }

  function parsePostfix(): CesqlAst {
    let operand = parseUnary();
    for (;;) {
      let negated = false;
      let tok = peek();
      if (isKw(tok, 'NOT') && (isKw(peek(1), 'LIKE') || isKw(peek(1), 'IN'))) {
        negated = true;
        k++;
        tok = peek();
      }
      if (isKw(tok, 'LIKE')) {
        k++;
        const pat = peek();
        // like-operation ::= expression NOT? LIKE string-literal (spec §2.3)
        if (pat.t !== 'str') fail(pat, 'LIKE must be followed by a string literal');
        k++;
        const pattern = (pat as { value: string }).value;
        operand = { kind: 'like', operand, pattern, regex: likeRegex(pattern), negated };
      } else if (isKw(tok, 'IN')) {
        k++;
        expectOp('(');
        if (isOp(peek(), ')')) fail(peek(), 'IN needs at least one value');
        const set: CesqlAst[] = [parseLogic()];
        while (isOp(peek(), ',')) { k++; set.push(parseLogic()); }
        expectOp(')');
        operand = { kind: 'in', operand, set, negated };
      } else return operand;
    }
  }

  function parseUnary(): CesqlAst {
    const tok = peek();
    if (isKw(tok, 'NOT')) { k++; return { kind: 'not', operand: parseUnary() }; }
    if (isOp(tok, '-')) {
      k++;
      const next = peek();
      // `-2147483648` must parse (TCK ABS overflow), so a minus directly before an
      // integer literal forms a negative literal, as INTEGER_LITERAL does in the lexer.
      if (next.t === 'int') { k++; return intLiteral(next, true); }
      return { kind: 'neg', operand: parseUnary() };
    }
    return parsePrimary();
  }

  function parsePrimary(): CesqlAst {
    const tok = peek();
    if (tok.t === 'int') { k++; return intLiteral(tok, false); }
    if (tok.t === 'str') { k++; return { kind: 'literal', value: tok.value }; }
    if (isOp(tok, '(')) {
      k++;
      const inner = parseLogic();
      expectOp(')');
      return inner;
    }
    if (tok.t === 'word') {
      const upper = tok.text.toUpperCase();
      if (upper === 'TRUE' || upper === 'FALSE') { k++; return { kind: 'literal', value: upper === 'TRUE' }; }
      if (upper === 'EXISTS') {
        k++;
        const id = peek();
        if (id.t !== 'word' || KEYWORDS.has(id.text.toUpperCase()) || !/^[A-Za-z0-9]+$/.test(id.text)) fail(id, 'EXISTS must be followed by an attribute name');
        k++;
        return { kind: 'exists', name: (id as { text: string }).text.toLowerCase() };
      }
      if (isOp(peek(1), '(')) {
        // function-identifier ::= char ( "_" | char )*
        if (!/^[A-Za-z][A-Za-z_]*$/.test(tok.text)) fail(tok, 'invalid function name');
        k += 2;
        const args: CesqlAst[] = [];
        if (!isOp(peek(), ')')) {
          args.push(parseLogic());
          while (isOp(peek(), ',')) { k++; args.push(parseLogic()); }
        }
        expectOp(')');
        return { kind: 'call', name: upper, args };
      }
      if (KEYWORDS.has(upper)) fail(tok, 'expected a value');
      // value-identifier ::= ( lowercase-char | digit )+
      if (!/^[A-Za-z0-9]+$/.test(tok.text)) fail(tok, 'attribute names may only contain letters and digits');
      k++;
      return { kind: 'attr', name: tok.text.toLowerCase() };
    }
    return fail(tok, 'expected a value');
  }

  if (peek().t === 'eof') throw new CesqlParseError('empty expression', 0);
  const ast = parseLogic();
  if (peek().t !== 'eof') fail(peek(), 'unexpected token');
  return ast;
}

/** `%` is any run of characters, `_` one character; `\%` and `\_` are literal (spec §3.4.3). */
function likeRegex(pattern: string): RegExp {
  let re = '^';
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const next = chars[i + 1];
    if (c === '\\' && (next === '%' || next === '_')) { re += escapeRe(next); i++; continue; }
    if (c === '%') re += '[\\s\\S]*';
    else if (c === '_') re += '[\\s\\S]';
    else re += escapeRe(c);
  }
  return new RegExp(re + '$', 'u');
}

// Only the syntax characters: with the `u` flag any other escape (e.g. `\-`) is a SyntaxError.
function escapeRe(c: string): string {
  return c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

// ---------------------------------------------------------------- evaluator

type Type = 'boolean' | 'integer' | 'string';

const ZERO: Record<Type, CesqlValue> = { boolean: false, integer: 0, string: '' };

function typeOf(v: CesqlValue): Type {
  return typeof v === 'boolean' ? 'boolean' : typeof v === 'number' ? 'integer' : 'string';
}

/** Attribute values arrive as JS values; CESQL sees strings, int32 integers and booleans (spec §3.2). */
function fromAttr(v: unknown): CesqlValue {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return v;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function parseIntStrict(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= INT32_MIN && n <= INT32_MAX ? n : undefined;
}

class Evaluator {
  readonly errors: CesqlError[] = [];
  constructor(private readonly attrs: Record<string, unknown>) {}

  private err(kind: CesqlErrorKind, message: string): void {
    this.errors.push({ kind, message });
  }

  /** Implicit cast (spec §3.7). Integer→Boolean is not implicit (TCK `NOT 10`: cast error). */
  cast(v: CesqlValue, to: Type): CesqlValue {
    if (typeOf(v) === to) return v;
    if (to === 'string') return String(v);
    if (to === 'integer') {
      if (typeof v === 'boolean') return v ? 1 : 0;
      const n = parseIntStrict(v as string);
      if (n === undefined) { this.err('cast', `cannot cast ${JSON.stringify(v)} to Integer`); return 0; }
      return n;
    }
    if (typeof v === 'string') {
      const l = v.toLowerCase();
      if (l === 'true') return true;
      if (l === 'false') return false;
    }
    this.err('cast', `cannot cast ${JSON.stringify(v)} to Boolean`);
    return false;
  }

  /** Evaluates a child; `ok` is false when the child raised any error. */
  private sub(node: CesqlAst): { v: CesqlValue; ok: boolean } {
    const before = this.errors.length;
    const v = this.eval(node);
    return { v, ok: this.errors.length === before };
  }

  eval(node: CesqlAst): CesqlValue {
    switch (node.kind) {
      case 'literal':
        return node.value;
      case 'attr': {
        const raw = this.attrs[node.name];
        if (raw === undefined || raw === null) {
          this.err('missingAttribute', `attribute ${node.name} is not in the event`);
          return false;
        }
        return fromAttr(raw);
      }
      case 'exists': {
        const raw = this.attrs[node.name];
        return raw !== undefined && raw !== null;
      }
      case 'not': {
        const a = this.sub(node.operand);
        if (!a.ok) return false;
        return !this.cast(a.v, 'boolean');
      }
      case 'neg': {
        const a = this.sub(node.operand);
        if (!a.ok) return 0;
        return -(this.cast(a.v, 'integer') as number) | 0;
      }
      case 'logic': {
        const l = this.sub(node.left);
        if (!l.ok) return false;
        const lb = this.cast(l.v, 'boolean') as boolean;
        // AND and OR MUST short-circuit (spec §3.4.2, §3.6).
        if (node.op === 'AND' && !lb) return false;
        if (node.op === 'OR' && lb) return true;
        const r = this.sub(node.right);
        if (!r.ok) return false;
        const rb = this.cast(r.v, 'boolean') as boolean;
        return node.op === 'XOR' ? lb !== rb : rb;
      }
      case 'compare': {
        const l = this.sub(node.left);
        if (!l.ok) return false;
        const r = this.sub(node.right);
        if (!r.ok) return false;
        if (node.op === '=' || node.op === '!=' || node.op === '<>') {
          // `=` is ambiguous over the three types: the right operand's type picks the
          // overload and the left operand is cast to it (spec §3.7; TCK `true = 'TRUE'` is false).
          const eq = this.cast(l.v, typeOf(r.v)) === r.v;
          return node.op === '=' ? eq : !eq;
        }
        const a = this.cast(l.v, 'integer') as number;
        const b = this.cast(r.v, 'integer') as number;
        switch (node.op) {
          case '<': return a < b;
          case '<=': return a <= b;
          case '>': return a > b;
          default: return a >= b;
        }
      }
      case 'arith': {
        const l = this.sub(node.left);
        if (!l.ok) return 0;
        const r = this.sub(node.right);
        if (!r.ok) return 0;
        const a = this.cast(l.v, 'integer') as number;
        const b = this.cast(r.v, 'integer') as number;
        // Int32 arithmetic wraps like the Go engine Knative embeds (sdk-go sql/v2).
        switch (node.op) {
          case '+': return (a + b) | 0;
          case '-': return (a - b) | 0;
          case '*': return Math.imul(a, b);
          default:
            // Truncated division; `/ 0` and `% 0` return 0 and raise an error (spec §3.4.2).
            if (b === 0) { this.err('math', `${node.op === '/' ? 'division' : 'modulo'} by zero`); return 0; }
            return node.op === '/' ? Math.trunc(a / b) | 0 : a % b | 0;
        }
      }
      case 'like': {
        const a = this.sub(node.operand);
        if (!a.ok) return false;
        const m = node.regex.test(this.cast(a.v, 'string') as string);
        return node.negated ? !m : m;
      }
      case 'in': {
        const a = this.sub(node.operand);
        if (!a.ok) return false;
        // The left operand's type is the target type for the set elements (spec §3.7).
        const t = typeOf(a.v);
        let found = false;
        for (const el of node.set) {
          const e = this.sub(el);
          if (!e.ok) return false;
          if (this.cast(e.v, t) === a.v) { found = true; break; }
        }
        return node.negated ? !found : found;
      }
      case 'call':
        return this.call(node.name, node.args);
    }
  }

  private call(name: string, argNodes: CesqlAst[]): CesqlValue {
    const fn = FUNCTIONS[name];
    const n = argNodes.length;
    if (!fn || n < fn.params.length - (fn.optional ?? 0) || (!fn.variadic && n > fn.params.length)) {
      this.err('missingFunction', `no function ${name} with ${n} argument${n === 1 ? '' : 's'}`);
      return false;
    }
    const args: CesqlValue[] = [];
    for (let i = 0; i < n; i++) {
      const a = this.sub(argNodes[i]!);
      if (!a.ok) return ZERO[fn.returns];
      const t = i < fn.params.length ? fn.params[i]! : fn.variadic!;
      args.push(t === 'any' ? a.v : this.cast(a.v, t));
    }
    return fn.impl(args, (message, kind = 'functionEvaluation') => this.err(kind, `${name}: ${message}`));
  }
}

interface FunctionDef {
  params: Array<Type | 'any'>;
  /** How many trailing params may be left out (SUBSTRING's len). */
  optional?: number;
  /** Type of the extra arguments for a variadic function. */
  variadic?: Type;
  returns: Type;
  impl: (args: CesqlValue[], fail: (message: string, kind?: CesqlErrorKind) => void) => CesqlValue;
}

const chars = (s: CesqlValue) => [...(s as string)];
const str = (args: CesqlValue[], i: number) => args[i] as string;
const int = (args: CesqlValue[], i: number) => args[i] as number;

/** Built-ins every engine MUST support (spec §3.5), plus the v1 casting functions. */
const FUNCTIONS: Record<string, FunctionDef> = {
  // Lengths and positions count characters (code points), not UTF-16 units.
  LENGTH: { params: ['string'], returns: 'integer', impl: (a) => chars(a[0]!).length },
  CONCAT: { params: [], variadic: 'string', returns: 'string', impl: (a) => a.join('') },
  CONCAT_WS: { params: ['string'], variadic: 'string', returns: 'string', impl: (a) => a.slice(1).join(str(a, 0)) },
  LOWER: { params: ['string'], returns: 'string', impl: (a) => str(a, 0).toLowerCase() },
  UPPER: { params: ['string'], returns: 'string', impl: (a) => str(a, 0).toUpperCase() },
  TRIM: { params: ['string'], returns: 'string', impl: (a) => str(a, 0).trim() },
  LEFT: {
    params: ['string', 'integer'], returns: 'string',
    impl: (a, fail) => {
      if (int(a, 1) < 0) { fail('length must not be negative'); return str(a, 0); }
      return chars(a[0]!).slice(0, int(a, 1)).join('');
    },
  },
  RIGHT: {
    params: ['string', 'integer'], returns: 'string',
    impl: (a, fail) => {
      const y = int(a, 1);
      if (y < 0) { fail('length must not be negative'); return str(a, 0); }
      const c = chars(a[0]!);
      return y >= c.length ? c.join('') : c.slice(c.length - y).join('');
    },
  },
  SUBSTRING: {
    params: ['string', 'integer', 'integer'], optional: 1, returns: 'string',
    impl: (a, fail) => {
      const c = chars(a[0]!);
      const pos = int(a, 1);
      if (pos > c.length || pos < -c.length) { fail(`position ${pos} is outside the string`); return ''; }
      const len = a.length > 2 ? int(a, 2) : undefined;
      if (len !== undefined && len < 0) { fail('length must not be negative'); return ''; }
      if (pos === 0) return '';
      const start = pos > 0 ? pos - 1 : c.length + pos;
      return c.slice(start, len === undefined ? c.length : start + len).join('');
    },
  },
  ABS: {
    params: ['integer'], returns: 'integer',
    impl: (a, fail) => {
      const x = int(a, 0);
      // |-2^31| does not fit: the TCK wants 2147483647 plus a math error.
      if (x === INT32_MIN) { fail('overflow', 'math'); return INT32_MAX; }
      return Math.abs(x);
    },
  },
  INT: { params: ['integer'], returns: 'integer', impl: (a) => a[0]! },
  BOOL: {
    params: ['any'], returns: 'boolean',
    impl: (a, fail) => {
      const v = a[0]!;
      if (typeof v === 'number') return v !== 0; // BOOL(100) is true, unlike the implicit cast.
      if (typeof v === 'boolean') return v;
      const l = v.toLowerCase();
      if (l === 'true' || l === 'false') return l === 'true';
      // The TCK classes BOOL('ABC') as a cast error, not a function error.
      fail(`cannot cast ${JSON.stringify(v)} to Boolean`, 'cast');
      return false;
    },
  },
  STRING: { params: ['string'], returns: 'string', impl: (a) => a[0]! },
  IS_BOOL: {
    params: ['any'], returns: 'boolean',
    impl: (a) => typeof a[0] === 'boolean' || (typeof a[0] === 'string' && ['true', 'false'].includes(a[0].toLowerCase())),
  },
  IS_INT: {
    params: ['any'], returns: 'boolean',
    impl: (a) => typeof a[0] === 'number' || (typeof a[0] === 'string' && parseIntStrict(a[0]) !== undefined),
  },
};

/** Evaluates a parsed expression against a CloudEvent's attributes (lower-case names). */
export function evaluateCesql(ast: CesqlAst, attrs: Record<string, unknown>): CesqlResult {
  const ev = new Evaluator(attrs);
  const value = ev.eval(ast);
  return { value, errors: ev.errors };
}

import { describe, it, expect } from 'vitest';
import { CesqlParseError, evaluateCesql, parseCesql, type CesqlErrorKind, type CesqlValue } from './cesql.js';

const ATTRS = { specversion: '1.0', id: 'id1', source: '/src', type: 'com.example.t', myext: 'Hello', seq: '7', flag: 'true', n: 5 };

function run(expr: string, attrs: Record<string, unknown> = ATTRS) {
  const r = evaluateCesql(parseCesql(expr), attrs);
  return { value: r.value, errors: r.errors.map((e) => e.kind) };
}

interface Case { label: string; input: string; want: CesqlValue; errors?: CesqlErrorKind[] }

describe('CESQL evaluation (cases beyond the stored TCK)', () => {
  const cases: Case[] = [
    // IN (spec §3.4.5): the left operand's type is the target for the set elements.
    { label: 'IN string hit', input: "type IN ('a', 'com.example.t')", want: true },
    { label: 'IN string miss', input: "type IN ('a', 'b')", want: false },
    { label: 'NOT IN', input: "type NOT IN ('a', 'b')", want: true },
    { label: 'IN casts elements to the left type (integer)', input: "7 IN ('6', '7')", want: true },
    { label: 'IN casts elements to the left type (string)', input: "seq IN (6, 7)", want: true },
    { label: 'IN casts elements to the left type (boolean)', input: "TRUE IN ('false', 'TRUE')", want: true },
    { label: 'IN with an expression element', input: 'n IN (2 + 3)', want: true },
    { label: 'IN over a missing attribute', input: "nope IN ('a')", want: false, errors: ['missingAttribute'] },
    { label: 'NOT IN over a missing attribute is still false', input: "nope NOT IN ('a')", want: false, errors: ['missingAttribute'] },
    // EXISTS (spec §3.4.4)
    { label: 'EXISTS present extension', input: 'EXISTS myext', want: true },
    { label: 'EXISTS missing', input: 'EXISTS nope', want: false },
    { label: 'EXISTS required attribute', input: 'EXISTS id', want: true },
    { label: 'exists keyword is case-insensitive', input: 'exists myext AND NOT EXISTS nope', want: true },
    // Missing attributes (spec §3.2, TCK)
    { label: 'missing attribute alone', input: 'nope', want: false, errors: ['missingAttribute'] },
    { label: 'missing attribute short-circuited away', input: "FALSE AND nope = 'x'", want: false },
    { label: 'missing attribute on the right of OR', input: "type = 'x' OR nope = 'x'", want: false, errors: ['missingAttribute'] },
    { label: 'function over missing attribute gives the zero value', input: 'LENGTH(nope)', want: 0, errors: ['missingAttribute'] },
    // Precedence (CESQLParser.g4): * / % over + -, arithmetic over comparison, comparison over logic.
    { label: 'multiplication before addition', input: '2 + 3 * 4', want: 14 },
    { label: 'left-associative subtraction', input: '10 - 3 - 2', want: 5 },
    { label: 'left-associative division', input: '100 / 10 / 5', want: 2 },
    { label: 'arithmetic before comparison', input: '1 + 1 = 2', want: true },
    { label: 'comparison before logic', input: "n > 3 AND type = 'com.example.t'", want: true },
    { label: 'AND/OR share a level, right-associative', input: 'FALSE AND TRUE OR TRUE', want: false },
    { label: 'parentheses override', input: '(FALSE AND TRUE) OR TRUE', want: true },
    { label: 'unary minus binds tighter than *', input: '-2 * 3', want: -6 },
    { label: 'unary minus on a parenthesised sum', input: '-(2 + 3)', want: -5 },
    { label: 'LIKE binds tighter than AND', input: "myext LIKE 'H%' AND type LIKE '%.t'", want: true },
    // Integers
    { label: 'truncated division toward zero', input: '-7 / 2', want: -3 },
    { label: 'remainder keeps the dividend sign', input: '-7 % 2', want: -1 },
    { label: 'remainder with negative divisor', input: '7 % -2', want: 1 },
    { label: 'int32 wraps on overflow', input: '2147483647 + 1', want: -2147483648 },
    { label: 'int32 multiplication wraps', input: '65536 * 65536', want: 0 },
    { label: 'comparison casts strings to integers', input: "'10' > '9'", want: true },
    { label: 'a failed cast yields the zero value and the operator still runs (as TCK NOT 10)', input: "'abc' < 3", want: true, errors: ['cast'] },
    { label: 'integer extension value keeps its type', input: 'n + 1', want: 6 },
    // Equality picks the right operand's type
    { label: 'string attribute = integer', input: 'seq = 7', want: true },
    { label: 'integer = string compares as strings', input: "7 = '07'", want: false },
    { label: 'string = boolean casts the left to boolean', input: 'flag = TRUE', want: true },
    { label: 'equality cast failure', input: "'x' = 1", want: false, errors: ['cast'] },
    // LIKE
    { label: 'LIKE is case-sensitive', input: "myext LIKE 'hello'", want: false },
    { label: 'LIKE % matches empty', input: "'' LIKE '%'", want: true },
    { label: 'LIKE _ is one character (code point)', input: "'😀' LIKE '_'", want: true },
    { label: 'LIKE escapes regex characters', input: "'a.c' LIKE 'a.c' AND NOT ('abc' LIKE 'a.c')", want: true },
    { label: 'LIKE pattern with - and other punctuation', input: "'a-b/c:d' LIKE 'a-b/%:_'", want: true },
    { label: 'LIKE pattern with regex syntax characters', input: "'(x)[y]{z}^$|+?*' LIKE '(x)[y]{z}^$|+?*'", want: true },
    { label: 'LIKE keyword lower-case', input: "myext like 'He%'", want: true },
    // Functions
    { label: 'function names are case-insensitive', input: "lower(myext) = 'hello'", want: true },
    { label: 'CONCAT casts its arguments', input: "CONCAT('a', 1, TRUE)", want: 'a1true' },
    { label: 'CONCAT_WS with integers', input: "CONCAT_WS('-', 1, 2)", want: '1-2' },
    { label: 'LENGTH counts code points', input: "LENGTH('😀a')", want: 2 },
    { label: 'RIGHT of empty string', input: "RIGHT('', 3)", want: '' },
    { label: 'SUBSTRING at the last character', input: "SUBSTRING('abc', 3)", want: 'c' },
    { label: 'SUBSTRING at -LENGTH', input: "SUBSTRING('abc', -3, 2)", want: 'ab' },
    { label: 'SUBSTRING negative length', input: "SUBSTRING('abc', 1, -1)", want: '', errors: ['functionEvaluation'] },
    { label: 'SUBSTRING with one argument is missing', input: "SUBSTRING('abc')", want: false, errors: ['missingFunction'] },
    { label: 'LOWER with two arguments is missing', input: "LOWER('a', 'b')", want: false, errors: ['missingFunction'] },
    { label: 'unknown function', input: 'FOO(1)', want: false, errors: ['missingFunction'] },
    { label: 'IS_BOOL', input: "IS_BOOL('TRUE') AND IS_BOOL(FALSE) AND NOT IS_BOOL('yes') AND NOT IS_BOOL(1)", want: true },
    { label: 'IS_INT', input: "IS_INT('-12') AND IS_INT(3) AND NOT IS_INT('1.5') AND NOT IS_INT('99999999999')", want: true },
    { label: 'INT of an out-of-range string is a cast error', input: "INT('2147483648')", want: 0, errors: ['cast'] },
    { label: 'STRING of an integer attribute', input: 'STRING(n)', want: '5' },
    { label: 'LEFT argument cast error', input: "LEFT('abc', 'x')", want: '', errors: ['cast'] },
    // Literals
    { label: 'doubled single quote', input: "'it''s'", want: "it's" },
    { label: 'backslash that escapes nothing stays', input: "'a\\b'", want: 'a\\b' },
    { label: 'negative int32 minimum literal', input: '-2147483648', want: -2147483648 },
    { label: 'identifiers are lower-cased', input: "MyExt = 'Hello'", want: true },
    { label: 'whitespace: tabs and newlines', input: "\ttype\n=\r\n'com.example.t'", want: true },
  ];
  for (const c of cases) {
    it(c.label, () => {
      expect(run(c.input)).toStrictEqual({ value: c.want, errors: c.errors ?? [] });
    });
  }

  it('AND short-circuits: the right side is never evaluated', () => {
    expect(run('FALSE AND 1 / 0 = 0')).toStrictEqual({ value: false, errors: [] });
  });
});

describe('CESQL parse errors', () => {
  const cases: Array<{ label: string; input: string; column: number; message: RegExp }> = [
    { label: 'empty', input: '', column: 1, message: /empty expression/ },
    { label: 'blank', input: '   ', column: 1, message: /empty expression/ },
    { label: 'dangling operator', input: "type = 'a' AND", column: 15, message: /expected a value, found end of expression/ },
    { label: 'unbalanced parenthesis', input: '(1 + 2', column: 7, message: /expected '\)'/ },
    { label: 'extra closing parenthesis', input: '1 + 2)', column: 6, message: /unexpected token, found '\)'/ },
    { label: 'unterminated string', input: "type = 'abc", column: 8, message: /unterminated string literal/ },
    { label: 'LIKE needs a string literal', input: 'x LIKE 123', column: 8, message: /LIKE must be followed by a string literal/ },
    { label: 'LIKE with an attribute', input: 'x LIKE y', column: 8, message: /LIKE must be followed by a string literal/ },
    { label: 'empty IN set', input: 'x IN ()', column: 7, message: /IN needs at least one value/ },
    { label: 'IN without parentheses', input: "x IN 'a'", column: 6, message: /expected '\('/ },
    { label: 'integer out of range', input: '2147483648', column: 1, message: /out of the 32-bit range/ },
    { label: 'negative integer out of range', input: 'x = -2147483649', column: 6, message: /out of the 32-bit range/ },
    { label: 'unknown character', input: 'type == "a"', column: 7, message: /expected a value, found '='/ },
    { label: 'bad character', input: 'type = $a', column: 8, message: /unexpected character "\$"/ },
    { label: 'EXISTS needs an identifier', input: "EXISTS 'id'", column: 8, message: /EXISTS must be followed by an attribute name/ },
    { label: 'underscore in an identifier', input: 'my_ext = 1', column: 1, message: /attribute names may only contain letters and digits/ },
    { label: 'two values side by side', input: 'a b', column: 3, message: /unexpected token, found 'b'/ },
    { label: 'keyword where a value belongs', input: 'AND = 1', column: 1, message: /expected a value/ },
  ];
  for (const c of cases) {
    it(c.label, () => {
      let err: unknown;
      try {
        parseCesql(c.input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CesqlParseError);
      const pe = err as CesqlParseError;
      expect(pe.column).toBe(c.column);
      expect(pe.position).toBe(c.column - 1);
      expect(pe.message).toMatch(c.message);
      expect(pe.message).toContain(`column ${c.column}`);
    });
  }
});

import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import { CesqlParseError, evaluateCesql, parseCesql } from './cesql.js';

// Runs the CloudEvents CESQL TCK case data copied into ./cesql-tck (see its README).
const dir = fileURLToPath(new URL('./cesql-tck/', import.meta.url));

interface TckCase {
  name: string;
  expression: string | number | boolean; // YAML reads `TRUE` or `0` as scalars
  result?: boolean | number | string;
  error?: string;
  event?: Record<string, unknown>;
  eventOverrides?: Record<string, unknown>;
}

// "Any valid event" for cases that only give overrides.
const BASE_EVENT = { specversion: '1.0', id: 'tck-id', source: 'tck-source', type: 'tck.type' };

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

describe('CESQL TCK', () => {
  it('has the case files', () => {
    expect(files.length).toBe(14);
  });
  for (const file of files) {
    const suite = parse(readFileSync(dir + file, 'utf8')) as { name: string; tests: TckCase[] };
    describe(`${file}: ${suite.name}`, () => {
      for (const tc of suite.tests) {
        it(tc.name, () => {
          const attrs = { ...(tc.event ?? BASE_EVENT), ...(tc.eventOverrides ?? {}) };
          let ast;
          try {
            ast = parseCesql(String(tc.expression));
          } catch (e) {
            expect(e).toBeInstanceOf(CesqlParseError);
            expect(tc.error).toBe('parse');
            return;
          }
          expect(tc.error, 'expected a parse error').not.toBe('parse');
          const got = evaluateCesql(ast, attrs);
          if (tc.result !== undefined) {
            // YAML may read a timestamp-looking result as a string already; compare as given.
            expect(got.value).toStrictEqual(tc.result);
          }
          const kinds = got.errors.map((e) => e.kind);
          if (tc.error) expect(kinds).toContain(tc.error);
          // Older case files predate the missingAttribute error kind (README): tolerate only that one.
          else expect(kinds.filter((k) => k !== 'missingAttribute')).toStrictEqual([]);
        });
      }
    });
  }
});

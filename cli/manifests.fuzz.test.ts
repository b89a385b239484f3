/**
 * `zeno apply -f` / `zeno up --config` load files through loadAndValidate,
 * which adds the batch's ConfigMaps and Functions' handler files to the
 * controller's loader (fuzzed in controller/manifest.fuzz.test.ts). Whatever
 * the file holds, the answer is documents or issues naming file and line —
 * never an exception. Bounded runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadAndValidate } from './manifests.js';

const dir = mkdtempSync(join(tmpdir(), 'zeno-cli-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'handler.mjs'), 'export default () => new Response("ok");\n');

const odd = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('./handler.mjs', '../../../../etc/passwd', '/etc/passwd', 'a\u0000b', '', '.', 'handler.mjs/', '\\\\server\\share', '%2e%2e/x', 'x'.repeat(5000)),
);

const doc = fc.oneof(
  fc.record({ handler: odd, command: fc.option(odd, { nil: undefined }), env: fc.option(odd, { nil: undefined }), timeoutSeconds: fc.option(odd, { nil: undefined }) })
    .map((spec) => ({ apiVersion: 'zeno.dev/v1', kind: 'Function', metadata: { name: 'f' }, spec })),
  fc.dictionary(fc.constantFrom('stable-window', 'container-concurrency-target-default', 'enable-scale-to-zero', 'max-scale', 'revision-timeout-seconds', 'x'), odd, { maxKeys: 3 })
    .chain((data) => fc.constantFrom('config-autoscaler', 'config-defaults', 'config-domain', 'config-br-defaults', 'config-gc').map((name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'knative-serving' }, data }))),
  fc.record({ apiVersion: fc.constantFrom('serving.knative.dev/v1', 'v1', 'zeno.dev/v1', 'x/y'), kind: fc.constantFrom('Service', 'ConfigMap', 'Function', 'Nope'), metadata: odd, spec: odd }),
);

let n = 0;
async function check(text: string): Promise<void> {
  const file = join(dir, `m${n++}.yaml`);
  writeFileSync(file, text);
  for (const runtime of ['local', 'kubernetes', 'unknown'] as const) {
    const { issues } = await loadAndValidate([file], { validate: true, runtime });
    for (const i of issues) {
      expect(i.file).toBe(file);
      expect(typeof i.path).toBe('string');
      expect(i.message.length).toBeGreaterThan(0);
      expect(i.line === undefined || (Number.isInteger(i.line) && i.line >= 1)).toBe(true);
    }
  }
}

describe('loadAndValidate under fuzzing', { timeout: 60_000 }, () => {
  it('batches of odd Functions, ConfigMaps and anything else', async () => {
    await fc.assert(fc.asyncProperty(fc.array(doc, { minLength: 1, maxLength: 3 }), async (docs) => check(docs.map((d) => stringify(d)).join('---\n'))), { numRuns: 80 });
  }, 30_000);
  it('arbitrary text', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => check(text)), { numRuns: 150 });
  }, 30_000);
});

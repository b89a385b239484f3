import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG } from '../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG } from '../core/config/defaults.js';
import { loadManifests, parseFieldPath, parseManifestText, resolveLocalWorkingDirs, validateManifests } from './manifest.js';
import type { ValidationContext } from './validation/context.js';

const ctx: ValidationContext = { defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG };
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'validation', 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'zeno-manifest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SERVICE = (name: string) => `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    spec:
      containers:
        - command: ["node", "server.js"]
`;

describe('loadManifests', () => {
  it('reads several documents per file, skipping empty ones', () => {
    const { docs, issues } = loadManifests([join(FIXTURES, 'multi.yaml')]);
    expect(issues).toEqual([]);
    expect(docs.map((d) => [d.index, d.object.kind, d.object.metadata.name])).toEqual([
      [0, 'ConfigMap', 'config-defaults'],
      [2, 'Service', 'hello'],
    ]);
    expect(docs[0]!.baseDir).toBe(FIXTURES);
    expect(docs[0]!.file).toBe(join(FIXTURES, 'multi.yaml'));
  });

  it('walks a folder recursively in sorted order, only *.yaml and *.yml', () => {
    const dir = join(tmp, 'tree');
    mkdirSync(join(dir, 'b', 'nested'), { recursive: true });
    mkdirSync(join(dir, 'node_modules', 'x'), { recursive: true });
    mkdirSync(join(dir, '.hidden'), { recursive: true });
    writeFileSync(join(dir, 'z.yml'), SERVICE('z'));
    writeFileSync(join(dir, 'a.yaml'), SERVICE('a'));
    writeFileSync(join(dir, 'b', 'nested', 'c.yaml'), SERVICE('c'));
    writeFileSync(join(dir, 'b', 'notes.txt'), 'not yaml: [');
    writeFileSync(join(dir, 'node_modules', 'x', 'ci.yaml'), 'on: push');
    writeFileSync(join(dir, '.hidden', 'h.yaml'), SERVICE('h'));
    const { docs, issues } = loadManifests([dir]);
    expect(issues).toEqual([]);
    expect(docs.map((d) => d.object.metadata.name)).toEqual(['a', 'c', 'z']);
    expect(docs[1]!.file).toBe(join(dir, 'b', 'nested', 'c.yaml'));
    expect(docs[1]!.baseDir).toBe(resolve(dir, 'b', 'nested'));
  });

  it('reports a syntax error with file, line and column', () => {
    const f = join(tmp, 'broken.yaml');
    writeFileSync(f, `${SERVICE('ok')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [config-domain\n`);
    const { issues } = loadManifests([f]);
    expect(issues).toHaveLength(1);
    // The unclosed `[` on line 14 is reported where the flow sequence should have ended.
    expect(issues[0]).toMatchObject({ file: f, line: 15, column: 1, path: '' });
    expect(issues[0]!.message).toMatch(/^invalid YAML/);
  });

  it('reports duplicate keys as YAML errors', () => {
    const { issues } = parseManifestText('kind: Service\nkind: ConfigMap\n', 'dup.yaml', tmp);
    expect(issues).toEqual([expect.objectContaining({ file: 'dup.yaml', line: 2, column: 1 })]);
  });

  it('rejects a document that is not a mapping', () => {
    const { docs, issues } = parseManifestText('---\n- a\n- b\n', 'list.yaml', tmp);
    expect(docs).toEqual([]);
    expect(issues).toEqual([expect.objectContaining({ file: 'list.yaml', line: 2, column: 1, path: '' })]);
  });

  it('reports a missing path', () => {
    const { issues } = loadManifests([join(tmp, 'nope.yaml')]);
    expect(issues).toEqual([{ file: join(tmp, 'nope.yaml'), path: '', message: 'no such file or folder' }]);
  });
});

describe('validateManifests', () => {
  it('names file, line, column and path for each bad field of a multi-document file', () => {
    const file = join(FIXTURES, 'multi.yaml');
    const { docs } = loadManifests([file]);
    const issues = validateManifests(docs, ctx);
    expect(issues.map(({ file: f, line, column, path }) => ({ f, line, column, path }))).toEqual([
      { f: file, line: 20, column: 9, path: 'spec.template.metadata.annotations["autoscaling.knative.dev/target-utilization-percentage"]' },
      { f: file, line: 22, column: 7, path: 'spec.template.spec.containerConcurrency' },
      { f: file, line: 26, column: 15, path: 'spec.template.spec.containers[0].env[0].name' },
    ]);
  });

  it('points a missing field at its nearest existing parent', () => {
    const file = join(FIXTURES, 'missing.yaml');
    const { docs } = loadManifests([file]);
    const issues = validateManifests(docs, ctx);
    expect(issues.map(({ line, column, path }) => ({ line, column, path }))).toEqual([
      { line: 1, column: 1, path: 'spec' }, // no spec: the document itself
      { line: 14, column: 5, path: 'spec.template.spec.containers' }, // the `spec:` that lacks containers
    ]);
  });

  it('rejects the same kind, namespace and name twice in one apply', () => {
    const a = parseManifestText(SERVICE('hello'), 'a.yaml', tmp).docs;
    const b = parseManifestText(`${SERVICE('other')}---\n${SERVICE('hello').replace('name: hello', 'name: hello\n  namespace: default')}`, 'b.yaml', tmp).docs;
    const issues = validateManifests([...a, ...b], ctx);
    expect(issues).toEqual([
      expect.objectContaining({ file: 'b.yaml', line: 14, path: 'metadata.name', message: expect.stringMatching(/Service default\/hello is defined twice.*a\.yaml:4/) }),
    ]);
  });

  it('allows one name in two namespaces, or for two kinds', () => {
    const text = `${SERVICE('x')}---\n${SERVICE('x').replace('name: x', 'name: x\n  namespace: other')}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-domain\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-defaults\n`;
    expect(validateManifests(parseManifestText(text, 'ok.yaml', tmp).docs, ctx)).toEqual([]);
  });

  it('locates dotted ConfigMap keys and quoted annotation keys', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-domain\ndata:\n  ok.example.com: ""\n  Bad.Example.com: ""\n';
    const issues = validateManifests(parseManifestText(text, 'd.yaml', tmp).docs, ctx);
    expect(issues).toEqual([expect.objectContaining({ path: 'data.Bad.Example.com', line: 7, column: 3 })]);
  });
});

describe('parseFieldPath', () => {
  it.each([
    { label: 'dots and indices', input: 'spec.traffic[1].tag', want: [{ key: 'spec', bracket: false }, { key: 'traffic', bracket: false }, { index: 1 }, { key: 'tag', bracket: false }] },
    { label: 'quoted key', input: 'a["x.y/z"].b', want: [{ key: 'a', bracket: false }, { key: 'x.y/z', bracket: true }, { key: 'b', bracket: false }] },
    { label: 'bare bracket key', input: 'a[x.y]', want: [{ key: 'a', bracket: false }, { key: 'x.y', bracket: true }] },
    { label: 'empty', input: '', want: [] },
  ])('$label', ({ input, want }) => {
    expect(parseFieldPath(input)).toEqual(want);
  });
});

describe('resolveLocalWorkingDirs', () => {
  it('makes workingDir absolute against the manifest folder, defaulting to it', () => {
    const text = `${SERVICE('a')}---\n${SERVICE('b').replace('- command: ["node", "server.js"]', '- command: ["node", "server.js"]\n          workingDir: ./app')}`;
    const [a, b] = parseManifestText(text, 'x.yaml', '/srv/fns').docs;
    const ra = resolveLocalWorkingDirs(a!);
    const rb = resolveLocalWorkingDirs(b!);
    expect((ra.spec as any).template.spec.containers[0].workingDir).toBe('/srv/fns'); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect((rb.spec as any).template.spec.containers[0].workingDir).toBe('/srv/fns/app'); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect((b!.object.spec as any).template.spec.containers[0].workingDir).toBe('./app'); // eslint-disable-line @typescript-eslint/no-explicit-any
  });
});

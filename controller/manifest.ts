/**
 * Loading YAML manifests from files and folders, and validating them with
 * positions: every issue names the file, line and column of the field it is
 * about (or of its nearest parent that exists, for a missing field), so the
 * CLI can print `file:line:col: path: message` before anything is applied.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
import type { FieldIssue } from '../core/errors.js';
import type { KObject } from '../core/types.js';
import type { KindValidator, ValidationContext } from './validation/context.js';
import { ALL_KINDS } from './resource-kinds.js';
import { validateObject } from './validation/index.js';

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface LoadedDoc {
  /** The file as the user named it (relative paths stay relative); `-` for stdin. */
  file: string;
  /** Position of the document in its file, 0-based, counting empty documents too. */
  index: number;
  object: KObject;
  /** Absolute folder of the file: relative `workingDir`s resolve against it. */
  baseDir: string;
  /** Where a field path (e.g. `spec.template.spec.containers[0].image`) sits in the file. */
  locate(path: string): SourcePosition;
}

const MANIFEST_EXT = /\.ya?ml$/i;

/**
 * Reads manifests from files and folders. A folder is searched recursively
 * for `*.yaml` / `*.yml` in sorted order (skipping `node_modules` and
 * dot-folders); a file named directly is read whatever its extension. Each
 * file may hold several documents separated by `---`; empty ones are skipped.
 * Syntax errors come back as issues with file, line and column. When there
 * are issues, callers must apply nothing.
 */
export function loadManifests(paths: string[]): { docs: LoadedDoc[]; issues: FieldIssue[] } {
  const docs: LoadedDoc[] = [];
  const issues: FieldIssue[] = [];
  for (const p of paths) {
    let files: string[];
    try {
      files = statSync(p).isDirectory() ? listManifestFiles(p) : [p];
    } catch (e) {
      issues.push({ file: p, path: '', message: describeFsError(e) });
      continue;
    }
    if (files.length === 0) issues.push({ file: p, path: '', message: 'no *.yaml or *.yml files in this folder' });
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch (e) {
        issues.push({ file: f, path: '', message: describeFsError(e) });
        continue;
      }
      const parsed = parseManifestText(text, f, dirname(resolve(f)));
      docs.push(...parsed.docs);
      issues.push(...parsed.issues);
    }
  }
  return { docs, issues };
}

/** Parses one file's text (also for stdin, with `file` = `-`). */
export function parseManifestText(text: string, file: string, baseDir: string): { docs: LoadedDoc[]; issues: FieldIssue[] } {
  const lineCounter = new LineCounter();
  const yamlDocs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const docs: LoadedDoc[] = [];
  const issues: FieldIssue[] = [];
  if (!Array.isArray(yamlDocs)) return { docs, issues }; // an empty stream
  const at = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  yamlDocs.forEach((doc, index) => {
    if (doc.errors.length) {
      for (const err of doc.errors) {
        issues.push({ file, ...at(err.pos[0]), path: '', message: `invalid YAML: ${err.message.split('\n')[0]}` });
      }
      return;
    }
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) return;
    const start = at(contents.range[0]);
    if (!isMap(contents)) {
      issues.push({ file, ...start, path: '', message: 'a manifest document must be a mapping with apiVersion, kind and metadata' });
      return;
    }
    let object: unknown;
    try {
      object = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      issues.push({ file, ...start, path: '', message: `invalid YAML: ${(e as Error).message}` });
      return;
    }
    docs.push({ file, index, object: object as KObject, baseDir, locate: (path) => at(offsetOf(doc, path)) });
  });
  return { docs, issues };
}

/**
 * Validates loaded documents (each with `validateObject`) and fills in file,
 * line and column. Also rejects two documents in one apply that define the
 * same kind, namespace and name, since one would silently win.
 */
export function validateManifests(docs: LoadedDoc[], ctx: ValidationContext, kinds: readonly KindValidator[] = ALL_KINDS): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Map<string, LoadedDoc>();
  for (const doc of docs) {
    for (const issue of validateObject(doc.object, ctx, kinds)) {
      issues.push({ ...issue, file: doc.file, ...doc.locate(issue.path) });
    }
    const o = doc.object as Partial<KObject>;
    const name = o.metadata?.name;
    if (typeof o.kind !== 'string' || typeof name !== 'string' || name === '') continue;
    const namespace = typeof o.metadata?.namespace === 'string' && o.metadata.namespace !== '' ? o.metadata.namespace : 'default';
    const key = `${o.kind}\u0000${namespace}\u0000${name}`;
    const first = seen.get(key);
    if (first) {
      const pos = first.locate('metadata.name');
      issues.push({
        file: doc.file,
        ...doc.locate('metadata.name'),
        path: 'metadata.name',
        message: `${o.kind} ${namespace}/${name} is defined twice in this apply; it is also at ${first.file}:${pos.line}`,
      });
    } else {
      seen.set(key, doc);
    }
  }
  return issues;
}

/**
 * For the local runtime: a copy of the document's object where every
 * container under `spec.template.spec.containers` (Service, and any kind
 * shaped like it) has an absolute `workingDir`, resolved against the
 * manifest's folder; a container without one runs in that folder. Do not
 * use it for Kubernetes, where `workingDir` is a path inside the image.
 */
export function resolveLocalWorkingDirs(doc: LoadedDoc): KObject {
  const obj = structuredClone(doc.object);
  const template = (obj.spec as { template?: { spec?: { containers?: unknown } } } | undefined)?.template;
  const containers = template?.spec?.containers;
  if (Array.isArray(containers)) {
    for (const c of containers) {
      if (c === null || typeof c !== 'object') continue;
      const wd = (c as { workingDir?: unknown }).workingDir;
      (c as { workingDir?: string }).workingDir = resolve(doc.baseDir, typeof wd === 'string' ? wd : '.');
    }
  }
  return obj;
}

// ---- field paths to source offsets ----

type Segment = { key: string; bracket: boolean } | { index: number };

/**
 * Splits `spec.traffic[1].tag` or `metadata.annotations["autoscaling.knative.dev/min-scale"]`
 * into segments; bracketed text (quoted or not) is one key even when it holds dots.
 */
export function parseFieldPath(path: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  while (i < path.length) {
    const c = path[i]!;
    if (c === '.') {
      i++;
    } else if (c === '[') {
      // A quoted key (`["a.b/c"]`) may hold `]`; find its closing quote first.
      const quoted = path[i + 1] === '"';
      const close = quoted ? path.indexOf('"]', i + 2) : path.indexOf(']', i);
      const end = close < 0 ? path.length : close;
      const inner = path.slice(i + (quoted ? 2 : 1), end);
      out.push(!quoted && /^\d+$/.test(inner) ? { index: Number(inner) } : { key: inner, bracket: true });
      i = close < 0 ? path.length : close + (quoted ? 2 : 1);
    } else {
      let j = i;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      out.push({ key: path.slice(i, j), bracket: false });
      i = j;
    }
  }
  return out;
}

/**
 * The offset of the deepest node on `path` that exists: the key of a map
 * entry, or the start of a sequence item. A missing field thus points at its
 * parent. Dotted keys written without brackets (`annotations.a.b/c`) are
 * matched by trying the longest run of segments joined with dots first.
 */
function offsetOf(doc: Document.Parsed, path: string): number {
  const root = doc.contents as Node | null;
  let best = root?.range?.[0] ?? 0;
  let node: unknown = root;
  const segs = parseFieldPath(path);
  let i = 0;
  while (i < segs.length && node) {
    const seg = segs[i]!;
    if ('index' in seg) {
      if (!isSeq(node)) break;
      const item = node.items[seg.index] as Node | undefined;
      if (!item) break;
      best = item.range?.[0] ?? best;
      node = item;
      i++;
      continue;
    }
    if (!isMap(node)) break;
    const map = node;
    let matched = false;
    // Try the longest dotted run first so `a.b/c` beats a key named `a`.
    const maxRun = seg.bracket ? 1 : countPlainRun(segs, i);
    for (let run = maxRun; run >= 1 && !matched; run--) {
      const key = segs.slice(i, i + run).map((s) => ('key' in s ? s.key : '')).join('.');
      const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (pair) {
        best = (pair.key as Node).range?.[0] ?? best;
        node = pair.value;
        i += run;
        matched = true;
      }
    }
    if (!matched) break;
  }
  return best;
}

function countPlainRun(segs: Segment[], from: number): number {
  let n = 0;
  while (from + n < segs.length) {
    const s = segs[from + n]!;
    if (!('key' in s) || s.bracket) break;
    n++;
  }
  return n;
}

// ---- folders ----

function listManifestFiles(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      // Dependencies and hidden folders (.git, .zeno) are never manifests.
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      out.push(...listManifestFiles(full));
    } else if (MANIFEST_EXT.test(e.name) && (e.isFile() || e.isSymbolicLink())) {
      out.push(full);
    }
  }
  return out;
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EACCES') return 'permission denied';
  return (e as Error).message;
}

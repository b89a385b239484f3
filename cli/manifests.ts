/**
 * From `-f FILE|DIR` to the items sent to the admin API: load and validate
 * locally with the controller's loader (which also searches folders), fill
 * in namespaces and the manifest's folder.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { formatIssue, type FieldIssue } from '../core/errors.js';
import type { KObject } from '../core/types.js';
import type { RuntimeKind } from '../controller/validation/context.js';
import { DEFAULT_NAMESPACE, kindOf } from './kinds.js';

const issueKey = (i: FieldIssue): string => `${i.file ?? ''}\u0000${i.line ?? 0}\u0000${i.path}\u0000${i.message}`;

/** The annotation that tells the platform where a manifest's relative paths start. */
export const BASE_DIR_ANNOTATION = 'zeno.dev/base-dir';

/**
 * Kinds whose containers run as local processes, so their `workingDir` and
 * `command` may be relative to the manifest (DESIGN: "relative paths resolve
 * against the manifest's folder").
 */
const KINDS_WITH_LOCAL_PATHS = new Set(['Service', 'Function', 'ContainerSource']);

/**
 * -f arguments as the loader should see them: relative to the process's
 * folder, so issues name files the way the user typed them.
 */
export function manifestPaths(paths: string[], cwd: string): string[] {
  return paths.map((p) => (isAbsolute(p) ? p : relative(process.cwd(), resolve(cwd, p)) || '.'));
}

export interface ManifestDoc {
  file: string;
  object: KObject;
  baseDir: string;
}

/**
 * The objects to send: namespace filled in (from -n, else ConfigMaps go to
 * knative-serving and everything else to default) and, for kinds that run
 * local processes, the manifest's absolute folder in `zeno.dev/base-dir`.
 * A namespace written in the manifest wins. The input is not modified.
 */
export function prepareItems(docs: ManifestDoc[], namespace?: string): KObject[] {
  return docs.map((d) => {
    const o = structuredClone(d.object);
    const metadata = { ...o.metadata };
    metadata.namespace ||= namespace || (kindOf(o)?.defaultNamespace ?? DEFAULT_NAMESPACE);
    if (KINDS_WITH_LOCAL_PATHS.has(o.kind)) metadata.annotations = { ...metadata.annotations, [BASE_DIR_ANNOTATION]: resolve(d.baseDir) };
    return { ...o, metadata };
  });
}

/** One line per issue, `file:line:col: path: message`, sorted by file and position. */
export function formatIssues(issues: FieldIssue[]): string {
  const sorted = [...issues].sort(
    (a, b) => (a.file ?? '').localeCompare(b.file ?? '') || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
  return sorted.map((i) => `${formatIssue(i)}\n`).join('');
}

/**
 * Loads and validates with the controller's own loader, so the CLI rejects
 * exactly what the platform would, before anything is sent. Validation uses
 * the platform's live ConfigMaps when given (e.g. allow-zero-initial-scale),
 * overlaid by the ConfigMaps in these same files; Knative's defaults otherwise.
 * The platform validates again when it receives the batch.
 */
export async function loadAndValidate(
  files: string[],
  opts: { validate: boolean; configMaps?: KObject[]; runtime?: RuntimeKind | 'unknown' },
): Promise<{ docs: ManifestDoc[]; issues: FieldIssue[] }> {
  // Lazy: the loader pulls in YAML parsing and validation, which only these commands need.
  const [{ loadManifests, validateManifests }, { configsFromConfigMaps }] = await Promise.all([
    import('../controller/manifest.js'),
    import('../controller/validation/configmap.js'),
  ]);
  const loaded = loadManifests(files);
  if (loaded.issues.length || !opts.validate) return { docs: loaded.docs, issues: loaded.issues };
  const batch = loaded.docs.map((d) => d.object).filter((o) => o.apiVersion === 'v1' && o.kind === 'ConfigMap');
  const cfg = configsFromConfigMaps([...(opts.configMaps ?? []), ...batch]);
  const base = { defaults: cfg.defaults, autoscaler: cfg.autoscaler };
  let issues: FieldIssue[];
  if (opts.runtime === 'unknown') {
    // The platform did not say where functions run (it is unreachable): only
    // what is wrong on every runtime is reported here; the platform checks
    // the rest when it is reachable.
    const onKube = new Set(validateManifests(loaded.docs, { ...base, runtime: 'kubernetes' }).map(issueKey));
    issues = validateManifests(loaded.docs, { ...base, runtime: 'local' }).filter((i) => onKube.has(issueKey(i)));
  } else {
    issues = validateManifests(loaded.docs, { ...base, runtime: opts.runtime ?? 'local' });
  }
  // A Function's handler must exist next to its manifest (checked here, where the folder is known).
  const { validateFunctionFiles } = await import('../controller/validation/function.js');
  const { existsSync, statSync } = await import('node:fs');
  const isFile = (p: string): boolean => existsSync(p) && statSync(p).isFile();
  for (const d of loaded.docs) {
    for (const i of validateFunctionFiles(d.object, d.baseDir, isFile)) issues.push({ ...i, file: d.file, ...d.locate(i.path) });
  }
  return { docs: loaded.docs, issues };
}

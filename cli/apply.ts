/**
 * `zeno apply` and `zeno delete`: manifests in, kubectl-style result lines
 * out, then (unless --no-wait) progress until Ready or gone.
 */
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { isZenoError, ZenoError, type FieldIssue } from '../core/errors.js';
import type { KObject } from '../core/types.js';
import { bool, parseTimeout, str, strs, UsageError, type ParsedValues } from './args.js';
import { RUNTIME_KINDS, type RuntimeKind } from '../controller/validation/context.js';
import type { AdminClient } from './client.js';
import { connect, progressOf, reportError, type CliContext } from './context.js';
import type { Progress } from './progress.js';
import { unknownKind, kindOf, objectRef, resolveKind } from './kinds.js';
import { formatIssues, loadAndValidate, manifestPaths, prepareItems, type ManifestDoc } from './manifests.js';
import { waitForDeletion, waitForReady, type WaitOutcome, type WaitTarget } from './wait.js';

export interface ApplyOptions {
  wait: boolean;
  timeoutMs: number;
  dryRun?: boolean;
  namespace?: string;
  /** Where wait progress goes (default: a new one on stderr, stopped when the wait ends). */
  progress?: Progress;
}

export interface ApplyOutcome {
  exitCode: number;
  /** Services that became Ready (empty with --no-wait). */
  ready: WaitOutcome[];
}

/** --wait (the default) or --no-wait, as kn's flags; both at once is a usage error. */
export function waitOf(values: ParsedValues): boolean {
  if (bool(values, 'wait') && bool(values, 'no-wait')) throw new UsageError('give --wait or --no-wait, not both');
  return !bool(values, 'no-wait');
}

function timeoutOf(values: ParsedValues): number {
  const t = str(values, 'timeout');
  return t === undefined ? PLATFORM_DEFAULTS.applyWaitMs : parseTimeout(t, '--timeout');
}

export async function runApply(ctx: CliContext, values: ParsedValues): Promise<number> {
  const files = strs(values, 'filename');
  if (!files.length) throw new UsageError('"zeno apply" needs -f FILE|DIR (see "zeno apply --help")');
  const ns = str(values, 'namespace');
  const outcome = await applyFiles(ctx, () => connect(ctx, values).then((c) => c.client), files, {
    wait: waitOf(values) && !bool(values, 'dry-run'),
    timeoutMs: timeoutOf(values),
    dryRun: bool(values, 'dry-run'),
    ...(ns ? { namespace: ns } : {}),
  });
  return outcome.exitCode;
}

/**
 * Load, validate, apply in one request, wait. Validation happens before
 * anything is sent, so an invalid file never changes the platform.
 * Also used by `zeno up --examples`.
 */
export async function applyFiles(ctx: CliContext, getClient: () => Promise<AdminClient>, paths: string[], opts: ApplyOptions): Promise<ApplyOutcome> {
  // The platform's ConfigMaps decide what is valid (e.g. allow-zero-initial-scale);
  // reading them sends nothing. Unreachable: validate with Knative's defaults,
  // so an invalid file is still reported before the connection error.
  let client: AdminClient | undefined;
  let clientError: unknown;
  try {
    client = await getClient();
  } catch (e) {
    clientError = e;
  }
  const configMaps = client ? await client.request<{ items?: KObject[] }>('GET', '/api/v1/configmaps').then((l) => l.items ?? [], () => []) : [];
  // Where functions run decides what a container needs (command locally, image on Kubernetes).
  const runtime = client ? await client.request<{ runtime?: unknown }>('GET', '/apis/zeno.dev/v1/info').then(runtimeOf, () => 'unknown' as const) : 'unknown';
  const { docs, issues } = await loadAndValidate(manifestPaths(paths, ctx.cwd), { validate: true, configMaps, runtime });
  if (issues.length) {
    ctx.err(formatIssues(issues));
    throw new ZenoError('ZENO_ERR_INVALID_RESOURCE', `${plural(issues.length, 'problem')} in the manifests; nothing was applied`);
  }
  if (!docs.length) throw new ZenoError('ZENO_ERR_BAD_REQUEST', `no resources found in ${paths.join(', ')}`);
  const items = prepareItems(docs, opts.namespace);
  if (!client) throw clientError;
  let res;
  try {
    res = await client.apply(items, opts.dryRun ?? false);
  } catch (e) {
    throw withFiles(e, docs);
  }
  for (const r of res.results) {
    ctx.out(`${objectRef(r.apiVersion, r.kind, r.name)} ${r.action}${opts.dryRun ? ' (server dry run)' : ''}\n`);
  }
  if (!opts.wait) return { exitCode: 0, ready: [] };

  const targets = serviceTargets(items, res.items);
  const progress = opts.progress ?? progressOf(ctx);
  const outcomes = await waitForReady(targets, {
    get: (t) => client.getObject(t.kind, t.namespace, t.name),
    clock: ctx.clock,
    timeoutMs: opts.timeoutMs,
    progress,
  }).finally(() => {
    if (!opts.progress) progress.stop();
  });
  let exitCode = 0;
  for (const o of outcomes) {
    if (o.error) {
      exitCode = reportError(ctx, o.error);
      continue;
    }
    const url = (o.object?.status as { url?: string } | undefined)?.url;
    ctx.out(`service/${o.target.name} ready${url ? ` at ${url}` : ''}\n`);
  }
  return { exitCode, ready: outcomes.filter((o) => !o.error) };
}

/** Services among the applied items, with the generation the platform stored for each. */
function serviceTargets(sent: KObject[], stored: KObject[] | undefined): WaitTarget[] {
  const targets: WaitTarget[] = [];
  for (const item of sent) {
    // A Function is Ready when the Service it generated (same name) is.
    const kind = item.kind === 'Function' ? resolveKind('service') : kindOf(item);
    if (kind?.kind !== 'Service') continue;
    const namespace = item.metadata.namespace ?? kind.defaultNamespace;
    const back = (stored ?? []).find((s) => s.kind === 'Service' && s.metadata.name === item.metadata.name && (s.metadata.namespace ?? namespace) === namespace);
    const generation = back?.metadata.generation;
    targets.push({ kind, namespace, name: item.metadata.name, ...(generation !== undefined ? { generation } : {}) });
  }
  return targets;
}

/**
 * The platform reports issues by position in the batch (`index`); name the
 * file instead so the user knows where to look.
 */
function withFiles(e: unknown, docs: ManifestDoc[]): unknown {
  if (!isZenoError(e) || !e.issues?.length) return e;
  const issues: FieldIssue[] = e.issues.map((i) => {
    const doc = docs[(i as FieldIssue & { index?: number }).index ?? -1];
    if (!doc || i.file) return i;
    const name = `${doc.object.kind}/${doc.object.metadata?.name ?? '?'}`;
    return { ...i, file: doc.file, path: i.path ? `${name} ${i.path}` : name };
  });
  return new ZenoError(e.code, `${e.message}; nothing was applied`, { issues });
}

/** The platform's runtime from its info; a platform too old to say runs functions locally. */
function runtimeOf(info: { runtime?: unknown }): RuntimeKind | 'unknown' {
  const r = info.runtime;
  if (r === undefined) return 'local';
  return RUNTIME_KINDS.includes(r as RuntimeKind) ? (r as RuntimeKind) : 'unknown';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

interface DeleteItem {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
}

export async function runDelete(ctx: CliContext, values: ParsedValues, args: string[]): Promise<number> {
  const files = strs(values, 'filename');
  const ns = str(values, 'namespace');
  // Flags are checked before anything is deleted.
  const wait = waitOf(values);
  const timeoutMs = timeoutOf(values);
  let items: DeleteItem[];
  if (files.length) {
    if (args.length) throw new UsageError('give either -f FILE|DIR or KIND NAME to "zeno delete", not both');
    // Deleting needs only kind and name: a spec that no longer validates must still be deletable.
    const { docs, issues } = await loadAndValidate(manifestPaths(files, ctx.cwd), { validate: false });
    if (issues.length) {
      ctx.err(formatIssues(issues));
      throw new ZenoError('ZENO_ERR_INVALID_YAML', `${plural(issues.length, 'problem')} in the manifests; nothing was deleted`);
    }
    items = prepareItems(docs, ns).map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace ?? 'default' } }));
  } else {
    if (args.length !== 2) throw new UsageError('"zeno delete" needs -f FILE|DIR or KIND NAME (see "zeno delete --help")');
    const kind = resolveKind(args[0]!);
    if (!kind) throw new UsageError(unknownKind(args[0]!));
    items = [{ apiVersion: kind.apiVersion, kind: kind.kind, metadata: { name: args[1]!, namespace: ns ?? kind.defaultNamespace } }];
  }
  if (!items.length) throw new ZenoError('ZENO_ERR_BAD_REQUEST', `no resources found in ${files.join(', ')}`);

  const { client } = await connect(ctx, values);
  const results = await client.deleteItems(items);
  let exitCode = 0;
  const gone: WaitTarget[] = [];
  for (const r of results) {
    const item = items.find((i) => i.kind === r.kind && i.metadata.name === r.name && (r.namespace === undefined || i.metadata.namespace === r.namespace));
    const apiVersion = r.apiVersion ?? item?.apiVersion ?? '';
    const ref = objectRef(apiVersion, r.kind, r.name);
    if (r.action === 'deleted') {
      ctx.out(`${ref} deleted\n`);
      const kind = kindOf({ apiVersion, kind: r.kind });
      if (kind) gone.push({ kind, namespace: r.namespace ?? item?.metadata.namespace ?? kind.defaultNamespace, name: r.name });
    } else if (!bool(values, 'ignore-not-found')) {
      ctx.err(`error: ${ref} not found in namespace "${r.namespace ?? item?.metadata.namespace ?? 'default'}" (use --ignore-not-found to skip it)\n`);
      exitCode = 1;
    }
  }
  if (!wait || !gone.length) return exitCode;
  const progress = progressOf(ctx);
  const outcomes = await waitForDeletion(gone, {
    get: (t) => client.getObject(t.kind, t.namespace, t.name),
    clock: ctx.clock,
    timeoutMs,
    progress,
  }).finally(() => progress.stop());
  for (const o of outcomes) if (o.error) exitCode = reportError(ctx, o.error);
  return exitCode;
}

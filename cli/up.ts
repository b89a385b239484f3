/** `zeno up`: the platform in the foreground, until SIGINT or SIGTERM. */
import { readFileSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { ZenoError, type FieldIssue } from '../core/errors.js';
import type { KObject } from '../core/types.js';
import { bool, parsePort, parseTimeout, str, strs, UsageError, type ParsedValues } from './args.js';
import { applyFiles } from './apply.js';
import { AdminClient } from './client.js';
import { dataDirOf, packageRoot, progressOf, reportError, type CliContext } from './context.js';
import type { Progress } from './progress.js';
import { formatIssues, loadAndValidate } from './manifests.js';
import type { PlatformOptions } from '../controller/platform.js';
import { otelSettingsFromEnv } from '../gateway/otel.js';

const SUPPORTED_RUNTIMES = ['local', 'kubernetes'];

export async function runUp(ctx: CliContext, values: ParsedValues): Promise<number> {
  const role = parseRole(str(values, 'role'));
  const controlUrlFlag = str(values, 'control-url');
  if (role === 'gateway') return runGatewayReplica(ctx, values);
  if (controlUrlFlag !== undefined) throw new UsageError('flag --control-url needs --role gateway (a replica follows the control plane at that URL)');
  const token = await readToken(ctx, str(values, 'token-file'), false);
  const runtime = str(values, 'runtime') ?? 'local';
  if (!SUPPORTED_RUNTIMES.includes(runtime)) {
    throw new UsageError(`flag --runtime: "${runtime}" is not a runtime; use local or kubernetes`);
  }
  const kubeconfigFlag = str(values, 'kubeconfig');
  if (kubeconfigFlag !== undefined && runtime !== 'kubernetes') throw new UsageError('flag --kubeconfig needs --runtime kubernetes');
  const leaseFlag = str(values, 'lease');
  const noElection = bool(values, 'no-leader-election');
  if ((leaseFlag !== undefined || noElection) && runtime !== 'kubernetes') {
    throw new UsageError(`flag ${leaseFlag !== undefined ? '--lease' : '--no-leader-election'} needs --runtime kubernetes`);
  }
  if (leaseFlag !== undefined && noElection) throw new UsageError('give either --lease or --no-leader-election, not both');
  const leaseRef = leaseFlag !== undefined ? parseLeaseRef(leaseFlag) : undefined;
  const sidecarImage = str(values, 'sidecar-image');
  if (sidecarImage !== undefined && runtime !== 'kubernetes') throw new UsageError('flag --sidecar-image needs --runtime kubernetes');
  if (sidecarImage !== undefined && !/^\S+$/.test(sidecarImage)) throw new UsageError(`flag --sidecar-image: "${sidecarImage}" is not an image reference`);
  const natsUrl = parseNatsUrl(str(values, 'nats'));
  const natsPrefix = str(values, 'nats-prefix');
  if (natsPrefix !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(natsPrefix)) {
    throw new UsageError(`flag --nats-prefix: "${natsPrefix}" must be 1-64 letters, digits, '-' or '_'`);
  }
  if (natsPrefix !== undefined && !natsUrl) throw new UsageError('flag --nats-prefix needs --nats');
  const port = parsePort(str(values, 'port') ?? String(PLATFORM_DEFAULTS.gatewayPort), '--port');
  const adminPort = parsePort(str(values, 'admin-port') ?? String(PLATFORM_DEFAULTS.adminPort), '--admin-port');
  const host = str(values, 'host') ?? PLATFORM_DEFAULTS.host;
  const publicGatewayUrl = parseGatewayUrl(str(values, 'gateway-url'));
  const warmText = str(values, 'warm-pool') ?? String(PLATFORM_DEFAULTS.warmPoolSize);
  if (!/^\d+$/.test(warmText) || Number(warmText) > 64) throw new UsageError(`flag --warm-pool: "${warmText}" is not a number from 0 to 64`);
  const warmPoolSize = Number(warmText);
  const headersTimeoutMs = parseTimeout(str(values, 'headers-timeout') ?? `${PLATFORM_DEFAULTS.headersTimeoutMs / 1000}s`, '--headers-timeout');
  const leanServer = parseOnOff(str(values, 'lean-server'), PLATFORM_DEFAULTS.gatewayLeanServer, '--lean-server');
  const dataDir = dataDirOf(ctx, values);
  const configFiles = strs(values, 'config').map((f) => resolve(ctx.cwd, f));
  await checkConfigFiles(ctx, configFiles);

  // The cluster is checked before anything starts: a wrong kubeconfig or an
  // unreachable API server is one line (with its code), not a stack trace.
  let clusterMode: Pick<PlatformOptions, 'createRuntime' | 'runtimeKind' | 'leaderElection' | 'configWatch' | 'apiServerClient'> = {};
  if (runtime === 'kubernetes') {
    const { connectCluster, clusterModeOptions, defaultLeaseNamespace } = await import('../functions/kubernetes/index.js');
    const conn = await connectCluster(kubeconfigFlag !== undefined ? { kubeconfig: resolve(ctx.cwd, kubeconfigFlag) } : {});
    ctx.err(`zeno: functions run on Kubernetes at ${conn.server} (${conn.version})\n`);
    // The platform's namespace: the Lease's, else the kubeconfig context's (in a pod, its own).
    const namespace = leaseRef?.namespace ?? defaultLeaseNamespace(conn.kubeConfig);
    const lease = noElection ? undefined : { namespace, name: leaseRef?.name ?? PLATFORM_DEFAULTS.leaseName };
    if (lease) ctx.err(`zeno: leader election on Lease ${lease.namespace}/${lease.name}: the reconciler and autoscaler run while this instance holds it\n`);
    ctx.err(`zeno: following Knative's ConfigMaps (config-autoscaler, ...) in namespace ${namespace}\n`);
    clusterMode = clusterModeOptions({ kubeConfig: conn.kubeConfig, configNamespace: namespace, ...(lease ? { lease } : {}), ...(sidecarImage ? { sidecar: { image: sidecarImage } } : {}) });
  }

  // OpenTelemetry's standard variables turn trace export on (docs/observability.md).
  const otel = otelSettingsFromEnv(ctx.env);
  // Platform log lines go above the progress line on a terminal.
  const progress = progressOf(ctx);
  progress.update('up', 'starting Zeno (gateway, admin API, autoscaler, activator)');
  // Lazy: the platform (fastify, SQLite, the reconcilers) is only loaded by `up`.
  const { startPlatform } = await import('../controller/platform.js');
  let platform;
  try {
    platform = await startPlatform({
      port, adminPort, host, dataDir, configFiles, warmPoolSize, headersTimeoutMs, leanServer,
      ...clusterMode,
      ...(token ? { token } : {}),
      ...(publicGatewayUrl ? { gatewayUrl: publicGatewayUrl } : {}),
      ...(natsUrl ? { natsUrl } : {}),
      ...(natsPrefix ? { natsPrefix } : {}),
      log: (line) => progress.print(line),
      ...(otel ? { otel } : {}),
      ...(bool(values, 'access-log') ? { accessLog: (line: string) => ctx.out(`${line}\n`) } : {}),
    });
  } catch (e) {
    progress.stop();
    throw explainStartFailure(e, { port, adminPort });
  }
  progress.finish('up');
  ctx.out(
    [
      'Zeno is up.',
      `  gateway:   ${platform.gatewayUrl}`,
      `  admin API: ${platform.adminUrl}`,
      `  data dir:  ${dataDir}`,
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  const stopped = ctx.untilSignal();
  let stopping = false;
  // Deploying the examples runs beside the wait for a signal, so Ctrl-C during
  // a slow start still stops at once. An example that fails is reported and
  // the platform keeps running.
  const examples = bool(values, 'examples')
    ? deployExamples(ctx, platform, progress).catch((e: unknown) => {
        if (!stopping) reportError(ctx, e);
      })
    : Promise.resolve();
  const signal = await stopped;
  stopping = true;
  progress.stop();
  ctx.err(`${signal}: stopping (again to force)\n`);
  await platform.close();
  await examples;
  ctx.err('stopped\n');
  return 0;
}

const ROLES = ['all', 'gateway'] as const;
type Role = (typeof ROLES)[number];

/** `--role all|gateway`. */
export function parseRole(text: string | undefined): Role {
  if (text === undefined) return 'all';
  if (!(ROLES as readonly string[]).includes(text)) throw new UsageError(`flag --role: "${text}" is not a role; use all or gateway`);
  return text as Role;
}

/**
 * Flags of the whole platform that a data-plane replica has no use for (it
 * has no store, admin API, runtime, autoscaler or event log): given with
 * --role gateway they are a mistake, said in one line, not ignored.
 */
export const NOT_FOR_GATEWAY_ROLE = [
  'admin-port', 'gateway-url', 'config', 'examples', 'warm-pool', 'runtime', 'kubeconfig', 'lease',
  'no-leader-election', 'sidecar-image', 'nats', 'nats-prefix', 'data-dir',
] as const;

/** An `on|off` flag (`fallback` when not given). */
export function parseOnOff(text: string | undefined, fallback: boolean, flag: string): boolean {
  if (text === undefined) return fallback;
  if (text === 'on') return true;
  if (text === 'off') return false;
  throw new UsageError(`flag ${flag}: "${text}" is neither on nor off`);
}

/** The first flag given that --role gateway does not take, if any. */
export function gatewayRoleConflict(values: ParsedValues): string | undefined {
  return NOT_FOR_GATEWAY_ROLE.find((f) => values[f] !== undefined && values[f] !== false);
}

/**
 * An http(s) origin given to flag `--NAME`: a host, an optional port, and no
 * path, query or credentials (they would be dropped silently otherwise).
 * Returns `scheme://host[:port]`, or a usage error showing `example`.
 */
function parseOriginFlag(name: string, text: string, example: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol) || !url.hostname || (url.pathname !== '' && url.pathname !== '/') || url.search || url.hash || url.username || url.password) {
    throw new UsageError(`flag --${name}: "${text}" is not a URL like ${example}`);
  }
  return `${url.protocol}//${url.host}`;
}

/** `--control-url http://HOST:PORT`: the control plane's admin API. */
export function parseControlUrl(text: string | undefined): string {
  if (text === undefined) throw new UsageError('--role gateway needs --control-url URL (the control plane\'s admin API, e.g. http://127.0.0.1:8081)');
  return parseOriginFlag('control-url', text, 'http://zeno-control.zeno-system.svc:8081');
}

const TOKEN_SHAPE = /^[\x21-\x7e]{16,512}$/;

/** A token: 16-512 visible ASCII characters, no spaces (it goes in an Authorization header). */
export function checkToken(token: string, from: string): string {
  if (!TOKEN_SHAPE.test(token)) throw new UsageError(`${from}: the token must be 16-512 visible ASCII characters without spaces (its value is not shown)`);
  return token;
}

/**
 * The admin token from --token-file, else $ZENO_TOKEN; never printed.
 * Role all without either makes a random one (undefined here).
 */
async function readToken(ctx: CliContext, file: string | undefined, required: boolean): Promise<string | undefined> {
  if (file !== undefined) {
    const text = await readFile(resolve(ctx.cwd, file), 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`flag --token-file: cannot read ${file} (${e.code ?? e.message})`);
    });
    return checkToken(text.trim(), `flag --token-file ${file}`);
  }
  const env = ctx.env.ZENO_TOKEN;
  if (env !== undefined && env !== '') return checkToken(env.trim(), '$ZENO_TOKEN');
  if (required) throw new UsageError('--role gateway needs the control plane\'s admin token: --token-file FILE (e.g. its data dir\'s "token") or $ZENO_TOKEN');
  return undefined;
}

/** `zeno up --role gateway`: a data-plane replica in the foreground (gateway/replica.ts). */
async function runGatewayReplica(ctx: CliContext, values: ParsedValues): Promise<number> {
  const conflict = gatewayRoleConflict(values);
  if (conflict) throw new UsageError(`flag --${conflict} does not apply to --role gateway (a data-plane replica has no store, admin API, runtime, autoscaler or event log)`);
  const controlUrl = parseControlUrl(str(values, 'control-url'));
  const tokenFile = str(values, 'token-file');
  const first = (await readToken(ctx, tokenFile, true))!;
  // A token file is read again at each use: a control plane restarted without
  // --token-file writes a new random token there, and the replica follows it.
  let lastGood = first;
  const token = tokenFile === undefined ? first : (): string => {
    try {
      const t = readFileSync(resolve(ctx.cwd, tokenFile), 'utf8').trim();
      if (TOKEN_SHAPE.test(t)) lastGood = t;
    } catch {
      // Gone for a moment (being rewritten): the last good one.
    }
    return lastGood;
  };
  const port = parsePort(str(values, 'port') ?? String(PLATFORM_DEFAULTS.gatewayPort), '--port');
  const host = str(values, 'host') ?? PLATFORM_DEFAULTS.host;
  const headersTimeoutMs = parseTimeout(str(values, 'headers-timeout') ?? `${PLATFORM_DEFAULTS.headersTimeoutMs / 1000}s`, '--headers-timeout');
  const leanServer = parseOnOff(str(values, 'lean-server'), PLATFORM_DEFAULTS.gatewayLeanServer, '--lean-server');
  const otel = otelSettingsFromEnv(ctx.env);
  const progress = progressOf(ctx);
  const { startGatewayReplica } = await import('../gateway/replica.js');
  let replica;
  try {
    replica = await startGatewayReplica({
      port, host, controlUrl, token, headersTimeoutMs, leanServer,
      log: (line) => progress.print(line),
      ...(otel ? { otel } : {}),
      ...(bool(values, 'access-log') ? { accessLog: (line: string) => ctx.out(`${line}\n`) } : {}),
    });
  } catch (e) {
    progress.stop();
    const err = e as { code?: string };
    if (err.code === 'EADDRINUSE') throw new ZenoError('ZENO_ERR_BAD_REQUEST', `port ${port} is already in use (choose another with --port)`, { cause: e });
    throw e;
  }
  ctx.out(
    [
      'Zeno gateway replica is up.',
      `  gateway:       ${replica.gatewayUrl}`,
      `  control plane: ${controlUrl}`,
      `  replica:       ${replica.replicaId}`,
      'Stop with Ctrl-C.',
      '',
    ].join('\n'),
  );
  const signal = await ctx.untilSignal();
  ctx.err(`${signal}: stopping (again to force)\n`);
  await replica.close();
  ctx.err('stopped\n');
  return 0;
}

/** `--lease NAMESPACE/NAME` (or just NAME, in the default namespace): DNS-1123 names, as the API server requires. */
export function parseLeaseRef(text: string): { namespace?: string; name: string } {
  const parts = text.split('/');
  const label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
  const subdomain = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  const ok = parts.length === 1 ? subdomain.test(parts[0]!) : parts.length === 2 && label.test(parts[0]!) && subdomain.test(parts[1]!);
  if (!ok) throw new UsageError(`flag --lease: "${text}" is not NAMESPACE/NAME (lowercase letters, digits, '-'), e.g. zeno-system/zeno-controller`);
  return parts.length === 1 ? { name: parts[0]! } : { namespace: parts[0]!, name: parts[1]! };
}

/** `--gateway-url http://HOST[:PORT]`: an http(s) URL with a host and no path, query or credentials. */
export function parseGatewayUrl(text: string | undefined): string | undefined {
  return text === undefined ? undefined : parseOriginFlag('gateway-url', text, 'http://zeno-gateway.zeno-system.svc.cluster.local');
}

/** `--nats nats://HOST:PORT`: a NATS URL (tls:// too), or a usage error. */
export function parseNatsUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !['nats:', 'tls:'].includes(url.protocol) || !url.hostname || (url.pathname !== '' && url.pathname !== '/')) {
    throw new UsageError(`flag --nats: "${text}" is not a NATS URL like nats://127.0.0.1:4222`);
  }
  return text;
}

/** --config files hold ConfigMaps only; an invalid one stops `up` before anything starts. */
async function checkConfigFiles(ctx: CliContext, files: string[]): Promise<void> {
  if (!files.length) return;
  for (const f of files) {
    const st = await stat(f).catch(() => undefined);
    if (!st?.isFile()) throw new UsageError(`flag --config: cannot read ${f}`);
  }
  const { docs, issues } = await loadAndValidate(files, { validate: true });
  const wrongKind: FieldIssue[] = docs
    .filter((d) => !(d.object.apiVersion === 'v1' && d.object.kind === 'ConfigMap'))
    .map((d) => ({ file: d.file, path: 'kind', message: `${d.object.kind} does not belong in --config (only ConfigMaps); use "zeno apply -f" for it` }));
  const all = [...issues, ...wrongKind];
  if (all.length) {
    ctx.err(formatIssues(all));
    throw new ZenoError('ZENO_ERR_INVALID_RESOURCE', `invalid --config file; nothing was started`);
  }
}

function explainStartFailure(e: unknown, ports: { port: number; adminPort: number }): unknown {
  const err = e as { code?: string; port?: number; message?: string };
  if (err.code === 'ZENO_ERR_NATS_UNAVAILABLE') {
    const oneLine = (err.message ?? '').replace(/\s+/g, ' ');
    return new ZenoError('ZENO_ERR_NATS_UNAVAILABLE', `${oneLine}; nothing was started (ZENO_ERR_NATS_UNAVAILABLE)`, { cause: e });
  }
  if (err.code === 'ZENO_ERR_DATA_DIR') {
    const oneLine = (err.message ?? '').replace(/\s+/g, ' ');
    return new ZenoError('ZENO_ERR_DATA_DIR', `${oneLine}; nothing was started (ZENO_ERR_DATA_DIR)`, { cause: e });
  }
  if (err.code === 'EADDRINUSE') {
    const which = err.port === ports.adminPort ? `admin port ${ports.adminPort}` : err.port === ports.port ? `port ${ports.port}` : `port ${ports.port} or ${ports.adminPort}`;
    return new ZenoError('ZENO_ERR_BAD_REQUEST', `${which} is already in use (another "zeno up"? choose others with --port and --admin-port)`, { cause: e });
  }
  return e;
}

/** functions/examples/<name>/service.yaml in the package, sorted by folder. */
export async function exampleManifests(root: string | undefined): Promise<string[]> {
  if (!root) return [];
  const dir = join(root, 'functions', 'examples');
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = join(dir, e.name, 'service.yaml');
    if (await stat(file).then((s) => s.isFile(), () => false)) out.push(file);
  }
  return out;
}

/**
 * The lines printed for one ready function: its URL, then curl commands
 * for Host routing and for `/function/NAME` path routing on the gateway.
 * E.g. hello in default on http://127.0.0.1:8080:
 *   curl -H 'Host: hello.default.localhost' http://127.0.0.1:8080/
 *   curl http://127.0.0.1:8080/function/hello
 */
export function exampleLines(service: KObject, gatewayUrl: string): string[] {
  const name = service.metadata.name;
  const ns = service.metadata.namespace ?? 'default';
  const url = (service.status as { url?: string } | undefined)?.url;
  const gw = gatewayUrl.replace(/\/+$/, '');
  const lines = [`${name}${url ? `  ${url}` : ''}`];
  if (url) {
    let host: string | undefined;
    try {
      host = new URL(url).hostname;
    } catch {
      host = undefined;
    }
    if (host) lines.push(`  curl -H 'Host: ${host}' ${gw}/`);
  }
  lines.push(`  curl ${gw}/function/${name}${ns === 'default' ? '' : `.${ns}`}`);
  return lines;
}

async function deployExamples(ctx: CliContext, platform: { gatewayUrl: string; adminUrl: string; token: string }, progress: Progress): Promise<void> {
  const root = packageRoot();
  const files = await exampleManifests(root);
  if (!files.length) {
    ctx.err(`no examples found in ${root ? join(root, 'functions', 'examples') : 'the package'}\n`);
    return;
  }
  const client = new AdminClient({ baseUrl: platform.adminUrl, token: platform.token, ...(ctx.fetch ? { fetch: ctx.fetch } : {}) });
  const { ready } = await applyFiles(ctx, async () => client, files, { wait: true, timeoutMs: PLATFORM_DEFAULTS.applyWaitMs, progress });
  progress.stop();
  if (!ready.length) return;
  ctx.out('\nExamples are ready:\n');
  for (const o of ready) if (o.object) ctx.out(`${exampleLines(o.object, platform.gatewayUrl).join('\n')}\n`);
}

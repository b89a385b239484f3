import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { ZenoError, errorBody, isZenoError, storageError, type FieldIssue } from '../core/errors.js';
import { DEFAULT_HTTP_LIMITS, clientErrorListener, serverOptions, type HttpLimits } from '../core/http-server.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { REDACTED, redactSecrets, restoreRedacted } from '../core/redact.js';
import { jsonDepthExceeds } from '../core/json-depth.js';
import type { KObject, RevisionId } from '../core/types.js';
import { revisionId } from '../core/types.js';
import { nodeRuntimeEntry } from '../functions/node/index.js';
import type { FunctionRuntime, LogLine } from '../functions/runtime.js';
import { isDns1123Label, isDns1123Subdomain } from './validation/names.js';
import { BUILTIN_KINDS, defaultService, validateFunctionFiles, validateObject, validateService } from './validation/index.js';
import {
  BASE_DIR_ANNOTATION, FUNCTION_API_VERSION, FUNCTION_LABEL, functionToService, isOwnedBy, withServiceStatus,
  type ZenoFunction,
} from './function-kind.js';
import type { EventRecorder } from './events.js';
import { ALL_KINDS, GENERIC_KINDS, type GenericKind } from './resource-kinds.js';
import { CONFIG_NAMESPACE, configFromConfigMaps, type KnativeConfig } from './platform-config.js';
import type { ResourceKind, ResourceStore } from './store.js';
import type { RuntimeKind } from './validation/context.js';

export interface AdminApiDeps {
  store: ResourceStore;
  runtime: FunctionRuntime;
  events: EventRecorder;
  token: string;
  config: () => KnativeConfig;
  info: () => Record<string, unknown>;
  maxBodyBytes: number;
  /** Generic kinds served (default: resource-kinds.ts GENERIC_KINDS); tests pass their own. */
  genericKinds?: readonly GenericKind[];
  /** Adds live, unstored fields to a generic object when it is read (e.g. a Trigger's delivery counters). */
  decorate?: (plural: string, obj: KObject) => KObject;
  /** Lets a request through without the bearer token (the dashboard's cookie, on /ui paths only). */
  allowWithoutToken?: (req: FastifyRequest) => boolean;
  /**
   * Where functions run, so apply validates for it: locally a container
   * needs `command`, on Kubernetes an `image` (controller/validation/context.ts).
   * @default 'local'
   */
  runtimeKind?: RuntimeKind;
  /** Header size and connection timeouts (default: DEFAULT_HTTP_LIMITS with a request timeout of PLATFORM_DEFAULTS.adminRequestTimeoutMs). */
  http?: HttpLimits;
}

const SERVING = 'serving.knative.dev';
const SERVING_KINDS: Record<string, { kind: string; listKind: string; writable: boolean }> = {
  services: { kind: 'Service', listKind: 'ServiceList', writable: true },
  configurations: { kind: 'Configuration', listKind: 'ConfigurationList', writable: false },
  revisions: { kind: 'Revision', listKind: 'RevisionList', writable: false },
  routes: { kind: 'Route', listKind: 'RouteList', writable: false },
};

interface ApplyResult {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged';
}


/** A handler path must name a file on this machine (the embedded runtime runs it here). */
function isFile(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * Namespaces are DNS-1123 labels and object names DNS-1123 subdomains, as
 * Kubernetes has them: `..`, `/`, `%`, NUL or an absolute path in a URL
 * never reach the store (400 ZENO_ERR_BAD_REQUEST; docs/security.md).
 */
function checkName(value: string, what: string): void {
  const problems = what === 'name' ? isDns1123Subdomain(value) : isDns1123Label(value);
  if (problems.length) throw new ZenoError('ZENO_ERR_BAD_REQUEST', `invalid ${what} ${JSON.stringify(value)}: ${problems.join('; ')}`);
}

/**
 * Kubernetes-style REST on the admin port (docs/admin-api.md). Every route
 * but /healthz needs the bearer token; apply is all-or-nothing.
 */
export function createAdminApi(d: AdminApiDeps): FastifyInstance {
  const limits = d.http ?? { ...DEFAULT_HTTP_LIMITS, requestTimeoutMs: PLATFORM_DEFAULTS.adminRequestTimeoutMs };
  const http = serverOptions(limits);
  const app = Fastify({
    logger: false,
    bodyLimit: d.maxBodyBytes,
    return503OnClosing: true,
    http,
    // fastify sets these two on the server after creating it.
    requestTimeout: http.requestTimeout ?? 0,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    clientErrorHandler: clientErrorListener(),
    // A path fastify cannot decode (`/apis/%`) gets Zeno's coded body, not fastify's.
    frameworkErrors: (err, _req, reply) => {
      void (reply as unknown as FastifyReply).status(400).send(errorBody(new ZenoError('ZENO_ERR_BAD_REQUEST', err.message)));
    },
  });
  const genericKinds = d.genericKinds ?? GENERIC_KINDS;
  const allKinds = d.genericKinds ? [...BUILTIN_KINDS, ...genericKinds] : ALL_KINDS;
  const genericKindOf = (obj: { apiVersion?: unknown; kind?: unknown }) => genericKinds.find((k) => k.kind === obj.kind && k.apiVersion === obj.apiVersion);
  const kindOf = (obj: KObject): ResourceKind | undefined => {
    if (obj.apiVersion === `${SERVING}/v1` && obj.kind === 'Service') return 'services';
    if (obj.apiVersion === 'v1' && obj.kind === 'ConfigMap') return 'configmaps';
    if (obj.apiVersion === FUNCTION_API_VERSION && obj.kind === 'Function') return 'functions';
    return genericKindOf(obj)?.plural;
  };
  const tokenBuf = Buffer.from(d.token);
  const runtimeKind: RuntimeKind = d.runtimeKind ?? 'local';

  app.addHook('onRequest', async (req: FastifyRequest) => {
    // RFC 9112 §3.2 (Node's own check is off, so the answer carries a code).
    if (req.raw.headers.host === undefined && req.raw.httpVersion === '1.1') throw new ZenoError('ZENO_ERR_BAD_REQUEST', 'an HTTP/1.1 request needs a Host header');
    if (req.url === '/healthz') return;
    if (d.allowWithoutToken?.(req)) return;
    const h = req.headers.authorization ?? '';
    const given = Buffer.from(h.startsWith('Bearer ') ? h.slice(7) : '');
    if (given.length !== tokenBuf.length || !timingSafeEqual(given, tokenBuf)) throw new ZenoError('ZENO_ERR_UNAUTHORIZED');
  });

  // Deeply nested JSON is refused before anything walks it (core/json-depth.ts).
  app.addHook('preValidation', async (req: FastifyRequest) => {
    if (req.body !== undefined && jsonDepthExceeds(req.body, PLATFORM_DEFAULTS.maxJsonDepth)) {
      throw new ZenoError('ZENO_ERR_BAD_REQUEST', `the JSON body nests deeper than ${PLATFORM_DEFAULTS.maxJsonDepth} levels`);
    }
  });
  // Secrets never leave in answers: env values named like credentials are
  // replaced in every object the API returns (core/redact.ts).
  app.addHook('preSerialization', async (_req: FastifyRequest, _reply: FastifyReply, payload: unknown) => redactSecrets(payload));

  app.setErrorHandler((err: unknown, _req: FastifyRequest, reply: FastifyReply) => {
    let z: ZenoError;
    const stored = storageError(err);
    if (isZenoError(stored)) z = stored;
    else {
      const fe = err as { statusCode?: number; code?: string; message?: string };
      if (fe.statusCode === 413) z = new ZenoError('ZENO_ERR_BODY_TOO_LARGE');
      else if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) z = new ZenoError('ZENO_ERR_BAD_REQUEST', fe.message);
      else z = new ZenoError('ZENO_ERR_INTERNAL', fe.message);
    }
    void reply.status(z.statusCode).send(errorBody(z));
  });
  app.setNotFoundHandler((req, reply) => {
    const z = new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `no admin endpoint at ${req.method} ${req.url}`);
    void reply.status(404).send(errorBody(z));
  });

  app.get('/healthz', async () => 'ok');
  app.get('/apis/zeno.dev/v1/info', async () => d.info());

  // ---- apply / delete batches ----
  const validateBatch = (items: unknown[]): { objects: { kind: ResourceKind; obj: KObject }[]; issues: FieldIssue[]; cfg: KnativeConfig } => {
    const issues: FieldIssue[] = [];
    // Services validate against the config this same batch establishes.
    const batchCms = items.filter((o): o is KObject => !!o && (o as KObject).kind === 'ConfigMap' && (o as KObject).apiVersion === 'v1');
    const storedCms = d.store.list('configmaps').filter((c) => !batchCms.some((b) => b.metadata?.name === c.metadata.name));
    const cfg = batchCms.length ? configFromConfigMaps([...storedCms, ...batchCms]) : d.config();
    const objects: { kind: ResourceKind; obj: KObject }[] = [];
    const seen = new Set<string>();
    items.forEach((raw, index) => {
      // What `zeno get -o yaml` printed can be applied again: a redacted
      // secret keeps its stored value; one with nothing stored is refused.
      if (raw !== null && typeof raw === 'object') {
        const o = raw as KObject;
        const k = kindOf(o);
        const ns = o.metadata?.namespace ?? (k === 'configmaps' ? CONFIG_NAMESPACE : 'default');
        if (k && typeof o.metadata?.name === 'string' && typeof ns === 'string') {
          for (const name of restoreRedacted(o, d.store.get(k, ns, o.metadata.name))) {
            issues.push({ path: 'spec', message: `env ${name} is ${JSON.stringify(REDACTED)} (a value hidden by the API) and no value is stored to keep: set the real value`, index } as FieldIssue);
          }
        }
      }
      const found = validateObject(raw, { defaults: cfg.defaults, autoscaler: cfg.autoscaler, runtime: runtimeKind }, allKinds);
      for (const i of found) issues.push({ ...i, index } as FieldIssue);
      if (found.length) return;
      const obj = raw as KObject;
      const kind = kindOf(obj);
      if (!kind) {
        issues.push({ path: 'kind', message: `${obj.apiVersion}/${obj.kind} cannot be applied here`, index } as FieldIssue);
        return;
      }
      const ns = obj.metadata.namespace ?? (kind === 'configmaps' ? CONFIG_NAMESPACE : 'default');
      // A Function and its generated Service share one name: they collide with each other too.
      const key = `${kind === 'functions' ? 'services' : kind}/${ns}/${obj.metadata.name}`;
      if (seen.has(key)) issues.push({ path: 'metadata.name', message: `${obj.kind} ${ns}/${obj.metadata.name} appears twice in this apply (a Function and a Service of one name count as the same)`, index } as FieldIssue);
      seen.add(key);
      if (kind === 'functions' || kind === 'services') issues.push(...ownershipIssues(obj, kind, ns).map((i) => ({ ...i, index }) as FieldIssue));
      if (kind === 'functions') {
        for (const i of validateFunctionFiles(obj, baseDirOf(obj), isFile)) issues.push({ ...i, index } as FieldIssue);
      }
      const generic = genericKindOf(obj);
      const asWritten: KObject = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { ...obj.metadata, namespace: ns }, spec: obj.spec ?? {} };
      const prev = generic ? d.store.get(generic.plural, ns, obj.metadata.name) : undefined;
      if (generic?.validateUpdate && prev) {
        const found = generic.validateUpdate(prev, asWritten);
        for (const i of found) issues.push({ ...i, index } as FieldIssue);
        if (found.length) return;
      }
      const normalized: KObject = kind === 'services'
        ? (defaultService(obj, cfg.defaults) as unknown as KObject)
        : kind === 'functions'
          ? asWritten
          : generic
            ? (generic.normalize?.(asWritten, { config: cfg, prev }) ?? asWritten)
            : { apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...obj.metadata, namespace: ns }, data: obj.data ?? {} };
      normalized.metadata.namespace = ns;
      delete normalized.status;
      objects.push({ kind, obj: normalized });
    });
    return { objects, issues, cfg };
  };

  /**
   * A Function owns the Service of its name: it may not take over a Service
   * the user applied, and a Service may not replace one a Function generated.
   */
  function ownershipIssues(obj: KObject, kind: 'functions' | 'services', ns: string): FieldIssue[] {
    const existing = d.store.get('services', ns, obj.metadata.name);
    if (!existing) return [];
    const owner = existing.metadata.labels?.[FUNCTION_LABEL];
    if (kind === 'functions' && !isOwnedBy(existing, obj.metadata.name)) {
      return [{ path: 'metadata.name', message: `service ${ns}/${obj.metadata.name} already exists and was not generated by this Function: delete it or choose another name` }];
    }
    if (kind === 'services' && owner !== undefined && isOwnedBy(existing, owner)) {
      return [{ path: 'metadata.name', message: `service ${ns}/${obj.metadata.name} is generated by Function ${JSON.stringify(owner)}: change the Function instead` }];
    }
    return [];
  }

  /** The manifest's folder (the CLI's annotation), else the platform's folder, as the reconciler does. */
  const baseDirOf = (obj: KObject): string => obj.metadata.annotations?.[BASE_DIR_ANNOTATION] ?? process.cwd();

  /**
   * Stores a Function, then the Service it stands for (owned by it, so the
   * stored uid is needed first). Runs inside the apply transaction: a
   * generated Service that fails validation rolls the whole batch back.
   */
  const putFunction = (fnObj: KObject, cfg: KnativeConfig): { fn: ReturnType<ResourceStore['put']>; svc: ReturnType<ResourceStore['put']> } => {
    const fn = d.store.put('functions', fnObj);
    const generated = functionToService(fn.object as ZenoFunction, { baseDir: baseDirOf(fn.object), runtimeEntry: nodeRuntimeEntry() });
    const issues = validateService(generated, { defaults: cfg.defaults, autoscaler: cfg.autoscaler, runtime: runtimeKind });
    if (issues.length) throw new ZenoError('ZENO_ERR_INVALID_RESOURCE', `the Service generated from Function ${fn.object.metadata.name} is invalid`, { issues });
    const svc = d.store.put('services', defaultService(generated, cfg.defaults) as unknown as KObject);
    return { fn, svc };
  };

  const applyBatch = (items: unknown[], dryRun: boolean) => {
    const { objects, issues, cfg } = validateBatch(items);
    if (issues.length) throw new ZenoError('ZENO_ERR_INVALID_RESOURCE', `${issues.length} problem(s) found; nothing was applied`, { issues });
    if (dryRun) return { results: [] as ApplyResult[], items: objects.map((o) => o.obj) };
    const results: ApplyResult[] = [];
    const stored: KObject[] = [];
    // ConfigMaps first, so Services in the same batch see their settings.
    const ordered = [...objects.filter((o) => o.kind === 'configmaps'), ...objects.filter((o) => o.kind !== 'configmaps')];
    d.store.transaction(() => {
      for (const { kind, obj } of ordered) {
        if (kind === 'functions') {
          const { fn, svc } = putFunction(obj, cfg);
          for (const r of [fn, svc]) {
            stored.push(r.object);
            results.push({ apiVersion: r.object.apiVersion, kind: r.object.kind, namespace: r.object.metadata.namespace ?? '', name: r.object.metadata.name, action: r.action });
          }
          continue;
        }
        const r = d.store.put(kind, obj);
        stored.push(r.object);
        results.push({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name, action: r.action });
      }
    });
    return { results, items: stored };
  };

  app.post('/apis/zeno.dev/v1/apply', async (req) => {
    const body = req.body as { items?: unknown; dryRun?: boolean } | undefined;
    if (!body || !Array.isArray(body.items)) throw new ZenoError('ZENO_ERR_BAD_REQUEST', 'body must be {items: [...]}');
    return applyBatch(body.items, body.dryRun === true);
  });

  /** Deletes a Function and the Service it owns (Kubernetes' garbage collection of owned objects, done at once). */
  const deleteFunction = (ns: string, name: string) => {
    const fn = d.store.delete('functions', ns, name);
    const out: { apiVersion?: string; kind: string; namespace: string; name: string; action: string }[] = [
      { apiVersion: FUNCTION_API_VERSION, kind: 'Function', namespace: ns, name, action: fn ? 'deleted' : 'not found' },
    ];
    const svc = d.store.get('services', ns, name);
    if (fn && svc && isOwnedBy(svc, name)) {
      d.store.delete('services', ns, name);
      out.push({ apiVersion: svc.apiVersion, kind: 'Service', namespace: ns, name, action: 'deleted' });
    }
    return out;
  };

  app.post('/apis/zeno.dev/v1/delete', async (req) => {
    const body = req.body as { items?: unknown } | undefined;
    if (!body || !Array.isArray(body.items)) throw new ZenoError('ZENO_ERR_BAD_REQUEST', 'body must be {items: [...]}');
    const targets = body.items.map((raw, index) => {
      const o = raw as KObject;
      const kind = o && typeof o === 'object' ? kindOf(o) : undefined;
      if (!kind || typeof o.metadata?.name !== 'string') {
        throw new ZenoError('ZENO_ERR_UNKNOWN_KIND', `item ${index}: ${String(o?.apiVersion)}/${String(o?.kind)} cannot be deleted here`);
      }
      const ns = o.metadata.namespace ?? (kind === 'configmaps' ? CONFIG_NAMESPACE : 'default');
      checkName(ns, 'namespace');
      return { kind, o, ns };
    });
    const results = d.store.transaction(() =>
      targets.flatMap(({ kind, o, ns }) => {
        if (kind === 'functions') return deleteFunction(ns, o.metadata.name);
        return [{ kind: o.kind, namespace: ns, name: o.metadata.name, action: d.store.delete(kind, ns, o.metadata.name) ? 'deleted' : 'not found' }];
      }),
    );
    return { results };
  });

  // ---- serving.knative.dev ----
  const listOf = (apiVersion: string, listKind: string, items: KObject[]) => ({ apiVersion, kind: listKind, metadata: {}, items });

  app.get<{ Params: { plural: string } }>('/apis/serving.knative.dev/v1/:plural', async (req) => {
    const k = SERVING_KINDS[req.params.plural];
    if (!k) throw new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `unknown resource ${req.params.plural}`);
    return listOf(`${SERVING}/v1`, k.listKind, d.store.list(req.params.plural as ResourceKind));
  });
  app.get<{ Params: { ns: string; plural: string } }>('/apis/serving.knative.dev/v1/namespaces/:ns/:plural', async (req) => {
    const k = SERVING_KINDS[req.params.plural];
    if (!k) throw new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `unknown resource ${req.params.plural}`);
    checkName(req.params.ns, 'namespace');
    return listOf(`${SERVING}/v1`, k.listKind, d.store.list(req.params.plural as ResourceKind, req.params.ns));
  });
  const getOne = (plural: string, ns: string, name: string): KObject => {
    const k = SERVING_KINDS[plural] ?? (plural === 'configmaps' ? { kind: 'ConfigMap' } : undefined);
    if (!k) throw new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `unknown resource ${plural}`);
    checkName(ns, 'namespace');
    checkName(name, 'name');
    const o = d.store.get(plural as ResourceKind, ns, name);
    if (!o) throw new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `${k.kind.toLowerCase()}s "${name}" not found in namespace ${ns}`);
    return o;
  };
  app.get<{ Params: { ns: string; plural: string; name: string } }>('/apis/serving.knative.dev/v1/namespaces/:ns/:plural/:name', async (req) =>
    getOne(req.params.plural, req.params.ns, req.params.name));

  app.put<{ Params: { ns: string; plural: string; name: string } }>('/apis/serving.knative.dev/v1/namespaces/:ns/:plural/:name', async (req, reply) => {
    if (req.params.plural !== 'services') throw new ZenoError('ZENO_ERR_METHOD_NOT_ALLOWED', `${req.params.plural} are written by the controller; apply a Service instead`);
    const obj = req.body as KObject;
    checkName(req.params.ns, 'namespace');
    // The path names the kind: apply would otherwise store a ConfigMap sent here.
    if (!obj || typeof obj !== 'object' || kindOf(obj) !== 'services' || obj.metadata?.name !== req.params.name || (obj.metadata.namespace ?? req.params.ns) !== req.params.ns) {
      throw new ZenoError('ZENO_ERR_BAD_REQUEST', 'the body must be a Service whose metadata.name and namespace match the path');
    }
    const out = applyBatch([{ ...obj, metadata: { ...obj.metadata, namespace: req.params.ns } }], false);
    void reply.status(out.results[0]?.action === 'created' ? 201 : 200);
    return out.items[0];
  });

  app.delete<{ Params: { ns: string; plural: string; name: string } }>('/apis/serving.knative.dev/v1/namespaces/:ns/:plural/:name', async (req) => {
    if (req.params.plural !== 'services') throw new ZenoError('ZENO_ERR_METHOD_NOT_ALLOWED', `delete the owning Service instead of its ${req.params.plural}`);
    const o = getOne('services', req.params.ns, req.params.name);
    d.store.delete('services', req.params.ns, req.params.name);
    return { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name: o.metadata.name, kind: 'services', uid: o.metadata.uid } };
  });

  // ---- zeno.dev/v1 functions: stored as written, shown with their Service's status ----
  const FN_BASE = '/apis/zeno.dev/v1';
  const shownFunction = (fn: KObject): KObject => withServiceStatus(fn, d.store.get('services', fn.metadata.namespace ?? 'default', fn.metadata.name));
  const getFunction = (ns: string, name: string): KObject => {
    checkName(ns, 'namespace');
    checkName(name, 'name');
    const o = d.store.get('functions', ns, name);
    if (!o) throw new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `functions "${name}" not found in namespace ${ns}`);
    return o;
  };
  app.get(`${FN_BASE}/functions`, async () => listOf(FUNCTION_API_VERSION, 'FunctionList', d.store.list('functions').map(shownFunction)));
  app.get<{ Params: { ns: string } }>(`${FN_BASE}/namespaces/:ns/functions`, async (req) => {
    checkName(req.params.ns, 'namespace');
    return listOf(FUNCTION_API_VERSION, 'FunctionList', d.store.list('functions', req.params.ns).map(shownFunction));
  });
  app.get<{ Params: { ns: string; name: string } }>(`${FN_BASE}/namespaces/:ns/functions/:name`, async (req) =>
    shownFunction(getFunction(req.params.ns, req.params.name)));
  app.put<{ Params: { ns: string; name: string } }>(`${FN_BASE}/namespaces/:ns/functions/:name`, async (req, reply) => {
    const obj = req.body as KObject;
    checkName(req.params.ns, 'namespace');
    if (!obj || typeof obj !== 'object' || kindOf(obj) !== 'functions' || obj.metadata?.name !== req.params.name || (obj.metadata.namespace ?? req.params.ns) !== req.params.ns) {
      throw new ZenoError('ZENO_ERR_BAD_REQUEST', 'the body must be a Function whose metadata.name and namespace match the path');
    }
    const out = applyBatch([{ ...obj, metadata: { ...obj.metadata, namespace: req.params.ns } }], false);
    void reply.status(out.results[0]?.action === 'created' ? 201 : 200);
    return shownFunction(out.items[0]!);
  });
  app.delete<{ Params: { ns: string; name: string } }>(`${FN_BASE}/namespaces/:ns/functions/:name`, async (req) => {
    const o = getFunction(req.params.ns, req.params.name);
    d.store.transaction(() => deleteFunction(req.params.ns, req.params.name));
    return { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name: o.metadata.name, kind: 'functions', uid: o.metadata.uid } };
  });

  // ---- generic kinds (eventing, sources, flows): stored as written, status by their controllers ----
  const genericOr404 = (group: string, version: string, plural: string) => {
    const k = genericKinds.find((g) => g.plural === plural && g.apiVersion === `${group}/${version}`);
    if (!k) throw new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `unknown resource ${plural}.${group}/${version}`);
    return k;
  };
  type GenericParams = { group: string; version: string; plural: string; ns: string; name: string };
  const shown = (plural: string, o: KObject): KObject => (d.decorate ? d.decorate(plural, o) : o);
  app.get<{ Params: Omit<GenericParams, 'ns' | 'name'> }>('/apis/:group/:version/:plural', async (req) => {
    const k = genericOr404(req.params.group, req.params.version, req.params.plural);
    return listOf(k.apiVersion, `${k.kind}List`, d.store.list(k.plural).map((o) => shown(k.plural, o)));
  });
  app.get<{ Params: Omit<GenericParams, 'name'> }>('/apis/:group/:version/namespaces/:ns/:plural', async (req) => {
    const k = genericOr404(req.params.group, req.params.version, req.params.plural);
    checkName(req.params.ns, 'namespace');
    return listOf(k.apiVersion, `${k.kind}List`, d.store.list(k.plural, req.params.ns).map((o) => shown(k.plural, o)));
  });
  const getGeneric = (p: GenericParams): { k: GenericKind; o: KObject } => {
    const k = genericOr404(p.group, p.version, p.plural);
    checkName(p.ns, 'namespace');
    checkName(p.name, 'name');
    const o = d.store.get(k.plural, p.ns, p.name);
    if (!o) throw new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `${k.plural} "${p.name}" not found in namespace ${p.ns}`);
    return { k, o };
  };
  app.get<{ Params: GenericParams }>('/apis/:group/:version/namespaces/:ns/:plural/:name', async (req) => {
    const { k, o } = getGeneric(req.params);
    return shown(k.plural, o);
  });
  app.put<{ Params: GenericParams }>('/apis/:group/:version/namespaces/:ns/:plural/:name', async (req, reply) => {
    const k = genericOr404(req.params.group, req.params.version, req.params.plural);
    checkName(req.params.ns, 'namespace');
    const obj = req.body as KObject;
    if (!obj || typeof obj !== 'object' || genericKindOf(obj) !== k || obj.metadata?.name !== req.params.name || (obj.metadata.namespace ?? req.params.ns) !== req.params.ns) {
      throw new ZenoError('ZENO_ERR_BAD_REQUEST', `the body must be a ${k.kind} whose metadata.name and namespace match the path`);
    }
    const out = applyBatch([{ ...obj, metadata: { ...obj.metadata, namespace: req.params.ns } }], false);
    void reply.status(out.results[0]?.action === 'created' ? 201 : 200);
    return out.items[0];
  });
  app.delete<{ Params: GenericParams }>('/apis/:group/:version/namespaces/:ns/:plural/:name', async (req) => {
    const { k, o } = getGeneric(req.params);
    d.store.delete(k.plural, req.params.ns, req.params.name);
    return { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name: o.metadata.name, kind: k.plural, uid: o.metadata.uid } };
  });

  // ---- logs ----
  app.get<{ Params: { ns: string; name: string }; Querystring: { tail?: string; follow?: string } }>(
    '/apis/serving.knative.dev/v1/namespaces/:ns/services/:name/logs',
    async (req, reply) => {
      getOne('services', req.params.ns, req.params.name);
      const revs: RevisionId[] = d.store
        .list('revisions', req.params.ns)
        .filter((r) => r.metadata.labels?.['serving.knative.dev/service'] === req.params.name)
        .map((r) => revisionId(req.params.ns, r.metadata.name));
      const tail = req.query.tail !== undefined ? Math.max(0, Number(req.query.tail) || 0) : undefined;
      const lines: LogLine[] = revs.flatMap((r) => d.runtime.logs(r)).sort((a, b) => a.time - b.time);
      const initial = tail !== undefined ? lines.slice(Math.max(0, lines.length - tail)) : lines;
      const follow = req.query.follow === 'true' || req.query.follow === '1';
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      for (const l of initial) res.write(`${JSON.stringify(l)}\n`);
      if (!follow) {
        res.end();
        return;
      }
      const stops = revs.map((r) => d.runtime.followLogs(r, (l) => res.write(`${JSON.stringify(l)}\n`)));
      req.raw.on('close', () => stops.forEach((s) => s()));
    },
  );

  // ---- core/v1: configmaps and events ----
  app.get('/api/v1/configmaps', async () => listOf('v1', 'ConfigMapList', d.store.list('configmaps')));
  app.get<{ Params: { ns: string } }>('/api/v1/namespaces/:ns/configmaps', async (req) => {
    checkName(req.params.ns, 'namespace');
    return listOf('v1', 'ConfigMapList', d.store.list('configmaps', req.params.ns));
  });
  app.get<{ Params: { ns: string; name: string } }>('/api/v1/namespaces/:ns/configmaps/:name', async (req) => getOne('configmaps', req.params.ns, req.params.name));
  app.put<{ Params: { ns: string; name: string } }>('/api/v1/namespaces/:ns/configmaps/:name', async (req) => {
    const obj = req.body as KObject;
    checkName(req.params.ns, 'namespace');
    if (!obj || typeof obj !== 'object' || kindOf(obj) !== 'configmaps' || obj.metadata?.name !== req.params.name) {
      throw new ZenoError('ZENO_ERR_BAD_REQUEST', 'the body must be a ConfigMap whose metadata.name matches the path');
    }
    return applyBatch([{ ...obj, metadata: { ...obj.metadata, namespace: req.params.ns } }], false).items[0];
  });
  app.delete<{ Params: { ns: string; name: string } }>('/api/v1/namespaces/:ns/configmaps/:name', async (req) => {
    getOne('configmaps', req.params.ns, req.params.name);
    d.store.delete('configmaps', req.params.ns, req.params.name);
    return { kind: 'Status', apiVersion: 'v1', status: 'Success' };
  });
  app.get<{ Params: { ns: string }; Querystring: { involvedObject?: string } }>('/api/v1/namespaces/:ns/events', async (req) => {
    checkName(req.params.ns, 'namespace');
    const [kind, name] = (req.query.involvedObject ?? '').split('/');
    return { apiVersion: 'v1', kind: 'EventList', items: d.events.list(req.params.ns, kind || undefined, name || undefined) };
  });

  return app;
}

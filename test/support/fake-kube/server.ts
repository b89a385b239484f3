/**
 * A fake Kubernetes API server for tests: a real HTTP server on loopback
 * speaking the API server's REST shapes (paths, JSON bodies, Status errors,
 * resourceVersions, chunked watch streams), plus a small simulation of the
 * controllers and kubelet the Kubernetes backend relies on. What it does and
 * does not emulate is listed in README.md beside this file.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromMatchLabels, matchesLabels, parseFieldSelector, parseLabelSelector, SelectorError, type Requirement } from './selector.js';
import { validateObject } from './validate.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type KObj = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    generateName?: string;
  };
  spec?: any;
  status?: any;
  [k: string]: any;
};

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** Writes to the main resource leave `status` alone (it has a status subresource). */
  statusSubresource: boolean;
}

export const RESOURCE_TYPES: ResourceType[] = [
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', statusSubresource: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', statusSubresource: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', statusSubresource: false },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', statusSubresource: true },
  { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', statusSubresource: false },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', statusSubresource: false },
  { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', statusSubresource: true },
];

const apiVersionOf = (t: ResourceType) => (t.group ? `${t.group}/${t.version}` : t.version);
const typeKey = (t: ResourceType) => `${t.group}/${t.plural}`;

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEntry {
  rv: number;
  type: WatchEventType;
  key: string;
  /** The object before the change (for selector transitions). */
  prev: KObj | undefined;
  obj: KObj;
}

interface Watcher {
  key: string;
  namespace: string | undefined;
  labels: Requirement[];
  fields: (o: KObj) => boolean;
  bookmarks: boolean;
  kind: string;
  apiVersion: string;
  res: ServerResponse;
  /** The last resourceVersion sent (events or bookmarks). */
  sentRv: number;
}

interface FakePod {
  server: http.Server | undefined;
  port: number;
  logs: { time: string; line: string }[];
  logFollowers: Set<ServerResponse>;
  starting: boolean;
  ready: boolean | undefined;
  waiting: { reason: string; message: string } | undefined;
}

export interface FakeKubeOptions {
  /** Watch events kept for resuming; older resourceVersions get 410 Gone. @default 1000 */
  historyLimit?: number;
  /** Bearer token required on every request. @default none: no authentication */
  token?: string;
  /** Pods become Ready as soon as their fake container listens. @default true */
  autoReady?: boolean;
  /** How long a terminating pod lingers (its endpoint `terminating`) before it is gone. @default 0 */
  terminationMs?: number;
  /** Sends a BOOKMARK to every watch that asked for them, this often. @default 0: only on bookmark() */
  bookmarkIntervalMs?: number;
  /**
   * More resource types to serve, as installing a CRD does (namespaced,
   * plain REST, no simulation, no schema check). Discovery lists them too.
   */
  resources?: ResourceType[];
}

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) out.details = details;
  return out;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function clone<T>(v: T): T {
  return structuredClone(v);
}

function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function nowMicro(): string {
  return new Date().toISOString().replace(/\.(\d+)Z$/, (_m, ms: string) => `.${ms.padEnd(6, '0')}Z`);
}

function shortHash(v: unknown, n = 10): string {
  // Kubernetes' pod-template-hash and slice names use [bcdfghjklmnpqrstvwxz2456789].
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = createHash('sha256').update(JSON.stringify(v)).digest();
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

function randomSuffix(n = 5): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(n);
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class FakeKubeServer {
  private readonly server: http.Server;
  private readonly objects = new Map<string, Map<string, KObj>>();
  private history: HistoryEntry[] = [];
  /** Highest resourceVersion no longer in history: a watch from below it gets 410. */
  private compactedRv = 0;
  private rv = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly pods = new Map<string, FakePod>();
  private readonly failingImages = new Map<string, { reason: string; message: string }>();
  private readonly opts: Required<Omit<FakeKubeOptions, 'token' | 'resources'>> & { token: string | undefined };
  /** The built-in types plus the options' extra ones. */
  private readonly types: ResourceType[];
  private reconcileQueued = false;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly sockets = new Set<import('node:net').Socket>();
  /** Every request, in order (tests read it to check what the client sent). */
  readonly requests: RequestRecord[] = [];
  url = '';

  constructor(opts: FakeKubeOptions = {}) {
    this.opts = {
      historyLimit: opts.historyLimit ?? 1000,
      token: opts.token,
      autoReady: opts.autoReady ?? true,
      terminationMs: opts.terminationMs ?? 0,
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 0,
    };
    this.types = [...RESOURCE_TYPES, ...(opts.resources ?? [])];
    for (const t of this.types) this.objects.set(typeKey(t), new Map());
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.sendJson(res, 500, status(500, 'InternalError', String((e as Error).message)));
        else res.destroy();
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(port = 0): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    const { port: p } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${p}`;
    if (this.opts.bookmarkIntervalMs > 0) this.bookmarkTimer = setInterval(() => this.bookmark(), this.opts.bookmarkIntervalMs);
    return this.url;
  }

  /** A kubeconfig (YAML text) whose current context points at this server. */
  kubeconfig(namespace = 'default'): string {
    const user = this.opts.token ? `  user:\n    token: ${this.opts.token}\n` : '  user: {}\n';
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: fake',
      '  cluster:',
      `    server: ${this.url}`,
      // Plain HTTP on loopback: client-node only accepts an http:// server with this flag.
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: fake',
      user.trimEnd(),
      'contexts:',
      '- name: fake',
      '  context:',
      '    cluster: fake',
      '    user: fake',
      `    namespace: ${namespace}`,
      'current-context: fake',
      '',
    ].join('\n');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.resumeWatches();
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    this.dropWatches();
    for (const p of this.pods.values()) this.stopContainer(p);
    this.pods.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- test hooks

  /** The current (global) resourceVersion. */
  resourceVersion(): number {
    return this.rv;
  }

  get(plural: string, namespace: string, name: string): KObj | undefined {
    const t = this.types.find((x) => x.plural === plural);
    if (!t) throw new Error(`unknown resource ${plural}`);
    const o = this.objects.get(typeKey(t))!.get(`${namespace}/${name}`);
    return o ? this.withKind(t, o) : undefined;
  }

  list(plural: string, namespace?: string): KObj[] {
    const t = this.types.find((x) => x.plural === plural);
    if (!t) throw new Error(`unknown resource ${plural}`);
    return [...this.objects.get(typeKey(t))!.values()].filter((o) => !namespace || o.metadata.namespace === namespace).map((o) => this.withKind(t, o));
  }

  /** Drops all retained watch history: any watch resuming from before now gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  /** Ends every open watch stream, as an API server restart or a load balancer would. */
  dropWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  private readonly forbidden = new Set<string>();

  /**
   * RBAC denial: requests with this verb (get, list, watch, create, update,
   * patch, delete) on this resource (e.g. `configmaps`, `pods/log`) get the
   * API server's 403 Forbidden Status. Everything else stays allowed.
   */
  forbid(verb: string, resource: string): void {
    this.forbidden.add(`${verb} ${resource}`);
  }

  allow(verb: string, resource: string): void {
    this.forbidden.delete(`${verb} ${resource}`);
  }

  private authorize(method: string, t: ResourceType, namespace: string | undefined, name: string | undefined, sub: string | undefined, watch: boolean): void {
    if (!this.forbidden.size) return;
    const verb = method === 'GET' ? (name ? 'get' : watch ? 'watch' : 'list') : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : method === 'DELETE' ? 'delete' : method.toLowerCase();
    const resource = sub ? `${t.plural}/${sub}` : t.plural;
    if (!this.forbidden.has(`${verb} ${resource}`)) return;
    const where = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
    throw new ApiError(403, 'Forbidden', `${resource}${name ? ` "${name}"` : ''} is forbidden: User "system:serviceaccount:zeno-system:zeno-controller" cannot ${verb} resource "${resource}" in API group "${t.group}"${where}`, {
      ...(name ? { name } : {}),
      group: t.group,
      kind: t.plural,
    });
  }

  private watchGate: { promise: Promise<void>; open: () => void } | undefined;

  /** New watch requests wait (as on an overloaded or partitioned server) until resumeWatches(). */
  pauseWatches(): void {
    if (this.watchGate) return;
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    this.watchGate = { promise, open };
  }

  resumeWatches(): void {
    const g = this.watchGate;
    this.watchGate = undefined;
    g?.open();
  }

  openWatches(): number {
    return this.watchers.size;
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that allowed them. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      w.sentRv = this.rv;
      this.writeEvent(w, 'BOOKMARK', { kind: w.kind, apiVersion: w.apiVersion, metadata: { resourceVersion: String(this.rv) } });
    }
  }

  /** Flips a running pod's readiness (its readiness probe starts failing or passing). */
  setPodReady(namespace: string, name: string, ready: boolean): void {
    const p = this.pods.get(`${namespace}/${name}`);
    if (!p) throw new Error(`no pod ${namespace}/${name}`);
    p.ready = ready;
    this.queueReconcile();
  }

  /** Pods of containers with this image never start: they wait with this reason (e.g. ImagePullBackOff). */
  failImage(image: string, reason: string, message: string): void {
    this.failingImages.set(image, { reason, message });
  }

  /** Appends a line to a pod's container log. */
  appendLog(namespace: string, name: string, line: string): void {
    const p = this.pods.get(`${namespace}/${name}`);
    if (!p) throw new Error(`no pod ${namespace}/${name}`);
    this.log(p, line);
  }

  /** Resolves once the simulation has nothing left to do (controllers converged). */
  async settle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setImmediate(r));
      if (!this.reconcileQueued && ![...this.pods.values()].some((p) => p.starting)) return;
    }
  }

  // ---------------------------------------------------------------- HTTP

  private sendJson(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async readBody(req: IncomingMessage): Promise<any> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (!text) return undefined;
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ApiError(400, 'BadRequest', `the body of the request was in an unknown format: ${(e as Error).message}`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, query: url.search });
    if (this.opts.token && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      return this.sendJson(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    try {
      if (url.pathname === '/version') {
        return this.sendJson(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-zeno-fake', platform: 'linux/amd64' });
      }
      const discovery = this.discovery(url.pathname);
      if (discovery && method === 'GET') return this.sendJson(res, 200, discovery);
      const route = this.route(url.pathname);
      if (!route) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      const { type, namespace, name, sub } = route;
      const q = url.searchParams;
      const watch = q.get('watch') === '1' || q.get('watch') === 'true';
      this.authorize(method, type, namespace, name, sub, watch);
      if (sub === 'log') return await this.podLog(res, namespace!, name!, q);
      if (!name) {
        if (method === 'GET' && watch) {
          // A paused server answers new watches only once resumed (with the state it has then).
          while (this.watchGate) await this.watchGate.promise;
          return this.watch(req, res, type, namespace, q);
        }
        if (method === 'GET') return this.sendJson(res, 200, this.listResponse(type, namespace, q));
        if (method === 'POST') {
          if (!namespace) throw new ApiError(405, 'MethodNotAllowed', 'create needs a namespace');
          return this.sendJson(res, 201, this.create(type, namespace, await this.readBody(req)));
        }
        throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      }
      if (sub === 'scale') {
        if (type.plural !== 'deployments') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        if (method === 'GET') return this.sendJson(res, 200, this.scaleOf(this.mustGet(type, namespace!, name)));
        if (method === 'PUT' || method === 'PATCH') {
          const body = await this.readBody(req);
          return this.sendJson(res, 200, this.updateScale(type, namespace!, name, body, method === 'PATCH' ? String(req.headers['content-type'] ?? '') : undefined));
        }
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      }
      if (sub === 'status') {
        if (method === 'GET') return this.sendJson(res, 200, this.withKind(type, this.mustGet(type, namespace!, name)));
        if (method === 'PUT') return this.sendJson(res, 200, this.replace(type, namespace!, name, await this.readBody(req), 'status'));
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      }
      if (sub) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      switch (method) {
        case 'GET':
          return this.sendJson(res, 200, this.withKind(type, this.mustGet(type, namespace!, name)));
        case 'PUT':
          return this.sendJson(res, 200, this.replace(type, namespace!, name, await this.readBody(req), 'main'));
        case 'PATCH':
          return this.sendJson(res, 200, this.patch(type, namespace!, name, await this.readBody(req), String(req.headers['content-type'] ?? '')));
        case 'DELETE':
          return this.sendJson(res, 200, this.delete(type, namespace!, name));
        default:
          throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      }
    } catch (e) {
      if (e instanceof ApiError) return this.sendJson(res, e.code, status(e.code, e.reason, e.message, e.details));
      if (e instanceof SelectorError) return this.sendJson(res, 400, status(400, 'BadRequest', `unable to parse requirement: ${e.message}`));
      throw e;
    }
  }

  /**
   * Discovery: `/api/v1` and `/apis/GROUP/VERSION` answer an APIResourceList
   * naming each resource's plural, kind and verbs, as clients that map a
   * kind to its path (KubernetesObjectApi, dynamic clients) expect.
   */
  private discovery(path: string): unknown {
    const parts = path.split('/').filter(Boolean);
    let group: string;
    let version: string;
    if (parts[0] === 'api' && parts.length === 2) [group, version] = ['', parts[1]!];
    else if (parts[0] === 'apis' && parts.length === 3) [group, version] = [parts[1]!, parts[2]!];
    else return undefined;
    const types = this.types.filter((t) => t.group === group && t.version === version);
    if (!types.length) return undefined;
    const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
    const resources: Record<string, unknown>[] = [];
    for (const t of types) {
      resources.push({ name: t.plural, singularName: t.kind.toLowerCase(), namespaced: true, kind: t.kind, verbs });
      if (t.statusSubresource) resources.push({ name: `${t.plural}/status`, singularName: '', namespaced: true, kind: t.kind, verbs: ['get', 'patch', 'update'] });
      if (t.plural === 'deployments') resources.push({ name: 'deployments/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }

  /** /api/v1/[namespaces/NS/]PLURAL[/NAME[/SUB]] and /apis/GROUP/VERSION/…, like the real paths. */
  private route(path: string): { type: ResourceType; namespace: string | undefined; name: string | undefined; sub: string | undefined } | undefined {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api') {
      group = '';
      version = parts[1] ?? '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis') {
      group = parts[1] ?? '';
      version = parts[2] ?? '';
      rest = parts.slice(3);
    } else return undefined;
    let namespace: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const type = this.types.find((t) => t.group === group && t.version === version && t.plural === rest[0]);
    if (!type || rest.length > 3) return undefined;
    return { type, namespace, name: rest[1], sub: rest[2] };
  }

  private withKind(t: ResourceType, o: KObj): KObj {
    return { apiVersion: apiVersionOf(t), kind: t.kind, ...clone(o) };
  }

  private mustGet(t: ResourceType, ns: string, name: string): KObj {
    const o = this.objects.get(typeKey(t))!.get(`${ns}/${name}`);
    if (!o) throw new ApiError(404, 'NotFound', `${t.plural}${t.group ? `.${t.group}` : ''} "${name}" not found`, { name, group: t.group, kind: t.plural });
    return o;
  }

  private listResponse(t: ResourceType, namespace: string | undefined, q: URLSearchParams): unknown {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'));
    // Lists carry the collection's resourceVersion; items leave out kind and apiVersion, as the real server's typed lists do.
    const items = [...this.objects.get(typeKey(t))!.values()]
      .filter((o) => (!namespace || o.metadata.namespace === namespace) && matchesLabels(labels, o.metadata.labels) && fields(o))
      .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
      .map((o) => clone(o));
    return { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(this.rv) }, items };
  }

  // ---------------------------------------------------------------- storage

  private record(t: ResourceType, type: WatchEventType, prev: KObj | undefined, obj: KObj): void {
    const entry: HistoryEntry = { rv: this.rv, type, key: typeKey(t), prev, obj: clone(obj) };
    this.history.push(entry);
    while (this.history.length > this.opts.historyLimit) this.compactedRv = this.history.shift()!.rv;
    for (const w of [...this.watchers]) if (w.key === entry.key) this.deliver(w, entry);
    this.queueReconcile();
  }

  private checkBody(t: ResourceType, namespace: string, body: any): void {
    if (!body || typeof body !== 'object') throw new ApiError(400, 'BadRequest', 'the body of the request is empty or not an object');
    if (body.kind !== undefined && body.kind !== t.kind) throw new ApiError(400, 'BadRequest', `the object provided is unrecognized (must be of type ${t.kind}): kind ${body.kind}`);
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersionOf(t)) {
      throw new ApiError(400, 'BadRequest', `the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(t)})`);
    }
    if (body.metadata?.namespace !== undefined && body.metadata.namespace !== namespace) {
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const problems = validateObject(t.kind, { ...body, apiVersion: apiVersionOf(t), kind: t.kind });
    if (problems.length) {
      throw new ApiError(422, 'Invalid', `${t.kind} "${body.metadata?.name ?? ''}" is invalid: ${problems.join('; ')}`, {
        name: body.metadata?.name,
        group: t.group,
        kind: t.kind,
        causes: problems.map((message) => ({ reason: 'FieldValueInvalid', message })),
      });
    }
  }

  private create(t: ResourceType, namespace: string, body: any): KObj {
    this.checkBody(t, namespace, body);
    const meta = body.metadata ?? {};
    let name: string | undefined = meta.name;
    if (!name && meta.generateName) name = `${meta.generateName}${randomSuffix()}`;
    if (!name || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
      throw new ApiError(422, 'Invalid', `${t.kind} "${name ?? ''}" is invalid: metadata.name: Invalid value: a lowercase RFC 1123 subdomain is required`);
    }
    const map = this.objects.get(typeKey(t))!;
    if (map.has(`${namespace}/${name}`)) {
      throw new ApiError(409, 'AlreadyExists', `${t.plural}${t.group ? `.${t.group}` : ''} "${name}" already exists`, { name, group: t.group, kind: t.plural });
    }
    const obj: KObj = clone(body);
    delete obj.apiVersion;
    delete obj.kind;
    this.rv++;
    obj.metadata = {
      ...meta,
      name,
      namespace,
      uid: randomUUID(),
      resourceVersion: String(this.rv),
      creationTimestamp: nowRfc3339(),
    };
    delete obj.metadata.deletionTimestamp;
    if (t.plural === 'deployments') {
      obj.metadata.generation = 1;
      obj.spec = { replicas: 1, ...obj.spec };
      obj.status = {};
    } else if (t.plural === 'horizontalpodautoscalers') {
      // HorizontalPodAutoscalerStatus.desiredReplicas has no omitempty: a new HPA reads 0 until its controller runs.
      obj.status = { desiredReplicas: 0 };
    } else if (t.statusSubresource && t.plural !== 'pods') {
      obj.status = {};
    }
    if (t.plural === 'services') obj.spec = { type: 'ClusterIP', clusterIP: `10.96.${(this.rv >> 8) & 255}.${this.rv & 255}`, ...obj.spec };
    map.set(`${namespace}/${name}`, obj);
    this.record(t, 'ADDED', undefined, obj);
    return this.withKind(t, obj);
  }

  /** PUT: a stale metadata.resourceVersion is a 409 Conflict; none at all is an unconditional update. */
  private replace(t: ResourceType, namespace: string, name: string, body: any, part: 'main' | 'status'): KObj {
    const cur = this.mustGet(t, namespace, name);
    if (body?.metadata?.name !== undefined && body.metadata.name !== name) {
      throw new ApiError(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    }
    const wantRv = body?.metadata?.resourceVersion;
    if (wantRv !== undefined && wantRv !== '' && wantRv !== cur.metadata.resourceVersion) throw this.conflict(t, name);
    const merged = clone(body ?? {});
    if (part === 'status') {
      return this.write(t, cur, { ...clone(cur), status: merged.status });
    }
    this.checkBody(t, namespace, { ...merged, metadata: { ...merged.metadata, name, namespace } });
    delete merged.apiVersion;
    delete merged.kind;
    const next: KObj = { ...merged, metadata: { ...merged.metadata } };
    if (t.statusSubresource) next.status = clone(cur.status);
    return this.write(t, cur, next);
  }

  private conflict(t: ResourceType, name: string): ApiError {
    return new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${t.plural}${t.group ? `.${t.group}` : ''} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group: t.group, kind: t.plural },
    );
  }

  private patch(t: ResourceType, namespace: string, name: string, body: any, contentType: string): KObj {
    const cur = this.mustGet(t, namespace, name);
    if (!/^application\/(merge-patch|strategic-merge-patch)\+json/.test(contentType)) {
      throw new ApiError(415, 'UnsupportedMediaType', `the fake API server supports merge patches only, not ${contentType || 'no content type'}`);
    }
    const wantRv = body?.metadata?.resourceVersion;
    if (wantRv !== undefined && wantRv !== cur.metadata.resourceVersion) throw this.conflict(t, name);
    const next = mergePatch(clone(cur), body) as KObj;
    this.checkBody(t, namespace, { ...next, metadata: { ...next.metadata, namespace } });
    if (t.statusSubresource) next.status = clone(cur.status);
    return this.write(t, cur, next);
  }

  /** Stores an update (keeping identity fields), bumping resourceVersion and, for a changed Deployment spec, generation. */
  private write(t: ResourceType, cur: KObj, next: KObj): KObj {
    next.metadata = {
      ...next.metadata,
      name: cur.metadata.name,
      namespace: cur.metadata.namespace!,
      uid: cur.metadata.uid!,
      creationTimestamp: cur.metadata.creationTimestamp!,
    };
    if (cur.metadata.deletionTimestamp) next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
    if (cur.metadata.generation !== undefined) {
      next.metadata.generation = cur.metadata.generation + (deepEqual(cur.spec, next.spec) ? 0 : 1);
    }
    const prevNoRv = { ...cur, metadata: { ...cur.metadata, resourceVersion: undefined } };
    const nextNoRv = { ...next, metadata: { ...next.metadata, resourceVersion: undefined } };
    // A write that changes nothing is a no-op, as on the real server: no new resourceVersion, no event.
    if (deepEqual(prevNoRv, nextNoRv)) return this.withKind(t, cur);
    this.rv++;
    next.metadata.resourceVersion = String(this.rv);
    this.objects.get(typeKey(t))!.set(`${cur.metadata.namespace}/${cur.metadata.name}`, next);
    this.record(t, 'MODIFIED', cur, next);
    return this.withKind(t, next);
  }

  private delete(t: ResourceType, namespace: string, name: string): KObj {
    const cur = this.mustGet(t, namespace, name);
    this.remove(t, cur);
    return this.withKind(t, cur);
  }

  private remove(t: ResourceType, cur: KObj): void {
    const key = `${cur.metadata.namespace}/${cur.metadata.name}`;
    if (!this.objects.get(typeKey(t))!.delete(key)) return;
    this.rv++;
    const gone = { ...clone(cur), metadata: { ...clone(cur.metadata), resourceVersion: String(this.rv) } };
    this.record(t, 'DELETED', cur, gone);
    if (t.plural === 'pods') {
      const p = this.pods.get(key);
      if (p) this.stopContainer(p);
      this.pods.delete(key);
    }
    // The garbage collector, background propagation: dependents go too.
    for (const dt of this.types) {
      for (const o of [...this.objects.get(typeKey(dt))!.values()]) {
        if (o.metadata.ownerReferences?.some((r) => r.uid === cur.metadata.uid)) this.remove(dt, o);
      }
    }
  }

  // ---------------------------------------------------------------- scale subresource

  private scaleOf(d: KObj): unknown {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: d.metadata.name,
        namespace: d.metadata.namespace,
        uid: d.metadata.uid,
        resourceVersion: d.metadata.resourceVersion,
        creationTimestamp: d.metadata.creationTimestamp,
      },
      spec: { replicas: d.spec?.replicas ?? 0 },
      status: {
        replicas: d.status?.replicas ?? 0,
        selector: Object.entries(d.spec?.selector?.matchLabels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
      },
    };
  }

  private updateScale(t: ResourceType, namespace: string, name: string, body: any, patchType: string | undefined): unknown {
    const cur = this.mustGet(t, namespace, name);
    let replicas: unknown;
    if (patchType !== undefined) {
      if (!/^application\/(merge-patch|strategic-merge-patch)\+json/.test(patchType)) {
        throw new ApiError(415, 'UnsupportedMediaType', `the fake API server supports merge patches only, not ${patchType || 'no content type'}`);
      }
      replicas = body?.spec?.replicas;
    } else {
      if (body?.kind !== undefined && body.kind !== 'Scale') throw new ApiError(400, 'BadRequest', `the object provided is unrecognized (must be of type Scale): kind ${body.kind}`);
      replicas = body?.spec?.replicas ?? 0;
    }
    // As the real registry does: the Scale's resourceVersion, when set, is a precondition on the Deployment.
    const wantRv = body?.metadata?.resourceVersion;
    if (wantRv !== undefined && wantRv !== '' && wantRv !== cur.metadata.resourceVersion) throw this.conflict(t, name);
    if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)) {
      throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    }
    const next = clone(cur);
    if (replicas !== undefined) next.spec = { ...next.spec, replicas };
    this.write(t, cur, next);
    return this.scaleOf(this.mustGet(t, namespace, name));
  }

  // ---------------------------------------------------------------- watch

  private writeEvent(w: Watcher, type: string, object: unknown): void {
    w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private matches(w: Watcher, o: KObj | undefined): boolean {
    return !!o && (!w.namespace || o.metadata.namespace === w.namespace) && matchesLabels(w.labels, o.metadata.labels) && w.fields(o);
  }

  /** Sends one change, as the watch cache does: an object leaving the selector is DELETED, one entering it ADDED. */
  private deliver(w: Watcher, e: HistoryEntry): void {
    const now = this.matches(w, e.obj);
    const before = e.type === 'ADDED' ? false : this.matches(w, e.prev);
    let type: string | undefined;
    if (e.type === 'ADDED') type = now ? 'ADDED' : undefined;
    else if (e.type === 'DELETED') type = before ? 'DELETED' : undefined;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (!type) return;
    w.sentRv = e.rv;
    this.writeEvent(w, type, { apiVersion: w.apiVersion, kind: w.kind, ...clone(e.obj) });
  }

  private watch(req: IncomingMessage, res: ServerResponse, t: ResourceType, namespace: string | undefined, q: URLSearchParams): void {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'));
    const rvText = q.get('resourceVersion');
    const w: Watcher = {
      key: typeKey(t),
      namespace,
      labels,
      fields,
      bookmarks: q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1',
      kind: t.kind,
      apiVersion: apiVersionOf(t),
      res,
      sentRv: 0,
    };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (rvText && rvText !== '0') {
      const from = Number(rvText);
      if (!Number.isInteger(from) || from < 0) {
        this.writeEvent(w, 'ERROR', status(400, 'BadRequest', `invalid resource version: ${rvText}`));
        res.end();
        return;
      }
      // The history before `from` is gone: the client must relist (410 Gone, reason Expired).
      if (from < this.compactedRv) {
        this.writeEvent(w, 'ERROR', status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv + 1})`));
        res.end();
        return;
      }
      for (const e of this.history) if (e.rv > from && e.key === w.key) this.deliver(w, e);
    } else {
      // No resourceVersion (or "0"): the current state as ADDED events, then changes.
      for (const o of this.objects.get(w.key)!.values()) {
        if (this.matches(w, o)) this.writeEvent(w, 'ADDED', this.withKind(t, o));
      }
    }
    this.watchers.add(w);
    const timeout = Number(q.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
      this.watchers.delete(w);
    };
    req.on('close', done);
    res.on('close', done);
  }

  // ---------------------------------------------------------------- pods/log

  private async podLog(res: ServerResponse, namespace: string, name: string, q: URLSearchParams): Promise<void> {
    const t = RESOURCE_TYPES.find((x) => x.plural === 'pods')!;
    const pod = this.mustGet(t, namespace, name);
    const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
    const container = q.get('container') || undefined;
    if (!container && containers.length > 1) {
      throw new ApiError(400, 'BadRequest', `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
    }
    if (container && !containers.includes(container)) {
      throw new ApiError(400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
    }
    const p = this.pods.get(`${namespace}/${name}`);
    const all = p?.logs ?? [];
    const tail = q.get('tailLines');
    const lines = tail !== null && tail !== '' ? all.slice(Math.max(0, all.length - Number(tail))) : all;
    const stamps = q.get('timestamps') === 'true';
    const fmt = (l: { time: string; line: string }) => `${stamps ? `${l.time} ` : ''}${l.line}\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    for (const l of lines) res.write(fmt(l));
    if (q.get('follow') !== 'true' || !p) {
      res.end();
      return;
    }
    const follower = Object.assign(res, { fmt });
    p.logFollowers.add(follower);
    res.on('close', () => p.logFollowers.delete(follower));
  }

  private log(p: FakePod, line: string): void {
    const entry = { time: nowMicro().replace(/Z$/, '000Z'), line };
    p.logs.push(entry);
    for (const f of p.logFollowers) f.write((f as unknown as { fmt: (l: typeof entry) => string }).fmt(entry));
  }

  // ---------------------------------------------------------------- simulation

  private queueReconcile(): void {
    if (this.reconcileQueued || this.closed) return;
    this.reconcileQueued = true;
    setImmediate(() => {
      this.reconcileQueued = false;
      if (this.closed) return;
      this.reconcileDeployments();
      this.runKubelet();
      this.reconcileEndpointSlices();
    });
  }

  private typeOf(plural: string): ResourceType {
    return this.types.find((t) => t.plural === plural)!;
  }

  private internalCreate(plural: string, namespace: string, obj: KObj): void {
    const t = this.typeOf(plural);
    const map = this.objects.get(typeKey(t))!;
    this.rv++;
    const o: KObj = clone(obj);
    o.metadata = { ...o.metadata, namespace, uid: randomUUID(), resourceVersion: String(this.rv), creationTimestamp: nowRfc3339() };
    map.set(`${namespace}/${o.metadata.name}`, o);
    this.record(t, 'ADDED', undefined, o);
  }

  private internalUpdate(plural: string, cur: KObj, next: KObj): void {
    this.write(this.typeOf(plural), cur, next);
  }

  private podReady(pod: KObj): boolean {
    return pod.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ?? false;
  }

  /** The Deployment and ReplicaSet controllers in one (no ReplicaSet objects): pods follow spec.replicas and the template. */
  private reconcileDeployments(): void {
    const pods = this.objects.get(typeKey(this.typeOf('pods')))!;
    for (const d of [...this.objects.get(typeKey(this.typeOf('deployments')))!.values()]) {
      const ns = d.metadata.namespace!;
      const hash = shortHash(d.spec.template, 10);
      const owned = [...pods.values()].filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid));
      const live = owned.filter((p) => !p.metadata.deletionTimestamp);
      // A new template replaces the old pods (Recreate-like; no surge accounting).
      for (const p of live.filter((x) => x.metadata.labels?.['pod-template-hash'] !== hash)) this.terminatePod(p, d);
      const current = live.filter((x) => x.metadata.labels?.['pod-template-hash'] === hash);
      const want = d.spec.replicas ?? 1;
      for (let n = current.length; n < want; n++) {
        const name = `${d.metadata.name}-${hash}-${randomSuffix()}`;
        this.internalCreate('pods', ns, {
          metadata: {
            name,
            labels: { ...(d.spec.template.metadata?.labels ?? {}), 'pod-template-hash': hash },
            annotations: { ...(d.spec.template.metadata?.annotations ?? {}) },
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid!, controller: true }],
          },
          spec: { ...clone(d.spec.template.spec), nodeName: 'fake-node' },
          status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] },
        });
      }
      if (current.length > want) {
        // The ReplicaSet controller's preference: not ready first, then the newest.
        const victims = [...current]
          .sort((a, b) => Number(this.podReady(a)) - Number(this.podReady(b)) || (b.metadata.resourceVersion! > a.metadata.resourceVersion! ? 1 : -1))
          .slice(0, current.length - want);
        for (const v of victims) this.terminatePod(v, d);
      }
      const now = [...pods.values()].filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid) && !p.metadata.deletionTimestamp);
      const ready = now.filter((p) => this.podReady(p)).length;
      const st = {
        observedGeneration: d.metadata.generation,
        replicas: now.length,
        updatedReplicas: now.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash).length,
        readyReplicas: ready,
        availableReplicas: ready,
      };
      if (!deepEqual(d.status, st)) this.internalUpdate('deployments', d, { ...clone(d), status: st });
    }
  }

  private terminatePod(p: KObj, d: KObj): void {
    if (p.metadata.deletionTimestamp) return;
    const grace = d.spec.template.spec?.terminationGracePeriodSeconds ?? 30;
    const next = clone(p);
    next.metadata.deletionTimestamp = nowRfc3339();
    next.metadata.deletionGracePeriodSeconds = grace;
    this.rv++;
    next.metadata.resourceVersion = String(this.rv);
    this.objects.get(typeKey(this.typeOf('pods')))!.set(`${p.metadata.namespace}/${p.metadata.name}`, next);
    this.record(this.typeOf('pods'), 'MODIFIED', p, next);
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    const gone = () => {
      const cur = this.objects.get(typeKey(this.typeOf('pods')))!.get(key);
      if (cur && !this.closed) this.remove(this.typeOf('pods'), cur);
    };
    if (this.opts.terminationMs > 0) setTimeout(gone, this.opts.terminationMs).unref();
    else setImmediate(gone);
  }

  private stopContainer(p: FakePod): void {
    for (const f of p.logFollowers) f.end();
    p.logFollowers.clear();
    p.server?.close();
    p.server?.closeAllConnections();
    p.server = undefined;
  }

  /**
   * The kubelet: a pod's container is a small HTTP server on loopback that
   * answers with the pod's name and its container env (so the runtime
   * contract can be checked); the pod becomes Ready when it listens.
   */
  private runKubelet(): void {
    for (const pod of [...this.objects.get(typeKey(this.typeOf('pods')))!.values()]) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      let p = this.pods.get(key);
      const container = pod.spec?.containers?.[0] ?? {};
      if (!p) {
        p = { server: undefined, port: 0, logs: [], logFollowers: new Set(), starting: false, ready: undefined, waiting: undefined };
        this.pods.set(key, p);
        const failing = this.failingImages.get(container.image);
        if (failing) p.waiting = failing;
        else this.startContainer(pod, p);
      }
      if (p.starting) continue;
      const ready = p.waiting ? false : (p.ready ?? (this.opts.autoReady && !!p.server));
      const st = this.podStatus(pod, p, container, ready);
      if (!deepEqual(pod.status, st)) this.internalUpdate('pods', pod, { ...clone(pod), status: st });
    }
  }

  private podStatus(pod: KObj, p: FakePod, container: { name?: string; image?: string }, ready: boolean): unknown {
    const running = !!p.server;
    const startedAt = pod.status?.startTime ?? nowRfc3339();
    const cs: Record<string, unknown> = { name: container.name ?? 'user-container', image: container.image ?? '', ready, restartCount: 0, started: running };
    cs.state = p.waiting ? { waiting: { reason: p.waiting.reason, message: p.waiting.message } } : running ? { running: { startedAt } } : { waiting: { reason: 'ContainerCreating' } };
    const out: Record<string, unknown> = {
      phase: running ? 'Running' : 'Pending',
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Initialized', status: 'True' },
        { type: 'ContainersReady', status: ready ? 'True' : 'False' },
        { type: 'Ready', status: ready ? 'True' : 'False' },
      ],
      containerStatuses: [cs],
      hostIP: '127.0.0.1',
      startTime: startedAt,
    };
    if (running) {
      out.podIP = '127.0.0.1';
      out.podIPs = [{ ip: '127.0.0.1' }];
    }
    return out;
  }

  private startContainer(pod: KObj, p: FakePod): void {
    p.starting = true;
    const name = pod.metadata.name;
    const env: Record<string, string> = {};
    for (const e of pod.spec?.containers?.[0]?.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
    const server = http.createServer((req, res) => {
      this.log(p, `${req.method} ${req.url}`);
      const body = JSON.stringify({ pod: name, path: req.url, env });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    server.listen(0, '127.0.0.1', () => {
      p.starting = false;
      if (this.closed || !this.pods.has(`${pod.metadata.namespace}/${name}`)) {
        server.close();
        return;
      }
      p.server = server;
      p.port = (server.address() as AddressInfo).port;
      this.log(p, `listening on 127.0.0.1:${p.port}`);
      this.queueReconcile();
    });
  }

  /**
   * The EndpointSlice controller: per Service with a selector, the pods it
   * selects that have an IP, with ready/serving/terminating conditions.
   * Each fake container listens on its own loopback port, so slices are
   * grouped by port, as the real controller groups endpoints by port mapping.
   */
  private reconcileEndpointSlices(): void {
    const slices = this.objects.get(typeKey(this.typeOf('endpointslices')))!;
    const pods = [...this.objects.get(typeKey(this.typeOf('pods')))!.values()];
    for (const svc of [...this.objects.get(typeKey(this.typeOf('services')))!.values()]) {
      const ns = svc.metadata.namespace!;
      const sel = svc.spec?.selector as Record<string, string> | undefined;
      if (!sel || !Object.keys(sel).length) continue;
      const reqs = fromMatchLabels(sel);
      const byPort = new Map<number, unknown[]>();
      for (const pod of pods) {
        if (pod.metadata.namespace !== ns || !matchesLabels(reqs, pod.metadata.labels) || !pod.status?.podIP) continue;
        const p = this.pods.get(`${ns}/${pod.metadata.name}`);
        if (!p?.server) continue;
        const terminating = !!pod.metadata.deletionTimestamp;
        const serving = this.podReady(pod);
        const ep = {
          addresses: [pod.status.podIP],
          conditions: { ready: serving && !terminating, serving, terminating },
          targetRef: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid },
          nodeName: pod.spec?.nodeName,
        };
        const list = byPort.get(p.port) ?? [];
        list.push(ep);
        byPort.set(p.port, list);
      }
      const svcPort = svc.spec?.ports?.[0] ?? {};
      const wanted = new Map<string, KObj>();
      for (const [port, endpoints] of byPort) {
        const name = `${svc.metadata.name}-${shortHash([svc.metadata.uid, port], 5)}`;
        wanted.set(name, {
          metadata: {
            name,
            labels: { ...(svc.metadata.labels ?? {}), 'kubernetes.io/service-name': svc.metadata.name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
            ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid!, controller: true }],
          },
          addressType: 'IPv4',
          endpoints: (endpoints as { targetRef: { name: string } }[]).sort((a, b) => a.targetRef.name.localeCompare(b.targetRef.name)),
          ports: [{ name: svcPort.name ?? '', port, protocol: 'TCP' }],
        });
      }
      const existing = [...slices.values()].filter((s) => s.metadata.namespace === ns && s.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid));
      for (const s of existing) {
        const want = wanted.get(s.metadata.name);
        if (!want) this.remove(this.typeOf('endpointslices'), s);
        else {
          wanted.delete(s.metadata.name);
          const next = { ...clone(s), endpoints: want.endpoints, ports: want.ports, metadata: { ...clone(s.metadata), labels: want.metadata.labels } };
          this.internalUpdate('endpointslices', s, next);
        }
      }
      for (const s of wanted.values()) this.internalCreate('endpointslices', ns, s);
    }
  }
}

export async function startFakeKube(opts: FakeKubeOptions = {}): Promise<FakeKubeServer> {
  const s = new FakeKubeServer(opts);
  await s.start();
  return s;
}

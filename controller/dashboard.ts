/**
 * The dashboard at /ui/ on the admin port (docs/observability.md): a static
 * page (ui/ at the package root) plus its data endpoints under /ui/api/,
 * with live updates over Server-Sent Events.
 *
 * Auth: a browser cannot send the bearer header when it navigates, so
 * `/ui/?token=TOKEN` is accepted once: it sets an HttpOnly, SameSite=Strict
 * cookie scoped to /ui and redirects to /ui/ without the token. The cookie
 * holds a digest of the token, not the token, and opens only /ui paths.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Clock, TimerHandle } from '../core/clock.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import type { Activity, ZenoMetrics } from '../core/metrics.js';
import { revisionId, type KObject } from '../core/types.js';
import type { FunctionRuntime } from '../functions/runtime.js';
import type { EventRecorder } from './events.js';
import type { ResourceStore } from './store.js';
import { revisionsByService } from './top.js';

export const UI_COOKIE = 'zeno_ui';
const SERVICE_LABEL = 'serving.knative.dev/service';

export interface DashboardDeps {
  clock: Clock;
  token: string;
  store: ResourceStore;
  runtime: FunctionRuntime;
  metrics: ZenoMetrics;
  events: EventRecorder;
  /** Folder with index.html; default: ui/ of the package. */
  uiDir?: string;
  /** @default PLATFORM_DEFAULTS.dashboardSampleMs */
  sampleMs?: number;
  /** Samples kept per service. @default PLATFORM_DEFAULTS.dashboardHistory */
  historyLength?: number;
}

export interface HistorySample {
  /** ms since the epoch */
  t: number;
  ready: number;
  desired: number;
  /** Requests that ended during the sample period, per second. */
  rps: number;
}

export interface ServiceView {
  namespace: string;
  name: string;
  url: string | undefined;
  ready: boolean;
  latestReadyRevision: string | undefined;
  readyReplicas: number;
  desiredReplicas: number;
  revisions: { name: string; ready: number; desired: number; pods: { id: string; state: string; restarts: number }[] }[];
  history: HistorySample[];
}

export interface RecentItem {
  time: number;
  namespace: string;
  service: string;
  revision: string;
  waitMs?: number;
  status?: number;
  error?: string;
  message?: string;
}

export interface DashboardState {
  time: number;
  services: ServiceView[];
  coldStarts: RecentItem[];
  errors: RecentItem[];
}

export interface Dashboard {
  /** Whether a request may skip the bearer token (the admin API's auth hook asks). */
  allows(req: { url: string; headers: Record<string, string | string[] | undefined> }): boolean;
  register(app: FastifyInstance): void;
  state(): DashboardState;
  /** Ends the live streams (before the admin server closes, which waits for them). */
  close(): void;
}

/** The ui/ folder: beside the package root, whether this runs from source or from dist/. */
export function findUiDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'ui', 'index.html'))) return join(dir, 'ui');
    dir = dirname(dir);
  }
  return undefined;
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function sameSecret(given: string | undefined, want: Buffer): boolean {
  if (given === undefined) return false;
  const g = Buffer.from(given);
  return g.length === want.length && timingSafeEqual(g, want);
}

/** Keeps the newest `max` items. */
function pushBounded<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

const STATIC_TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', html: 'text/html; charset=utf-8', svg: 'image/svg+xml' };
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
const RECENT_MAX = 50;

export function createDashboard(d: DashboardDeps): Dashboard {
  const { clock } = d;
  const sampleMs = d.sampleMs ?? PLATFORM_DEFAULTS.dashboardSampleMs;
  const historyLength = d.historyLength ?? PLATFORM_DEFAULTS.dashboardHistory;
  const uiDir = d.uiDir ?? findUiDir();
  const tokenBuf = Buffer.from(d.token);
  // The cookie carries a digest: a leaked cookie is not the admin token.
  const cookieSecret = createHash('sha256').update(`zeno-ui\0${d.token}`).digest('hex');
  const cookieBuf = Buffer.from(cookieSecret);

  const history = new Map<string, HistorySample[]>();
  /** Requests counted per service at the last sample, for the rate. */
  const lastTotals = new Map<string, number>();
  let lastSampleMs = clock.now();
  const coldStarts: RecentItem[] = [];
  const serverErrors: RecentItem[] = [];
  const streams = new Set<ServerResponse>();

  const offActivity = d.metrics.onActivity((a: Activity) => {
    const base = { time: clock.now(), namespace: a.labels.namespace, service: a.labels.service, revision: a.labels.revision };
    if (a.kind === 'cold-start') pushBounded(coldStarts, { ...base, waitMs: a.waitMs }, RECENT_MAX);
    else pushBounded(serverErrors, { ...base, status: a.status, ...(a.error ? { error: a.error } : {}) }, RECENT_MAX);
  });

  const revisionsOf = (svc: KObject): KObject[] => {
    const ns = svc.metadata.namespace ?? 'default';
    return d.store.list('revisions', ns).filter((r) => r.metadata.labels?.[SERVICE_LABEL] === svc.metadata.name);
  };

  const serviceViews = (): ServiceView[] => {
    const byService = revisionsByService(d.store);
    return d.store.list('services').map((svc) => {
      const ns = svc.metadata.namespace ?? 'default';
      const status = (svc.status ?? {}) as { url?: string; latestReadyRevisionName?: string; conditions?: { type: string; status: string }[] };
      const revisions = (byService.get(`${ns}/${svc.metadata.name}`) ?? []).map((r) => {
        const st = d.runtime.status(revisionId(ns, r.metadata.name));
        return {
          name: r.metadata.name,
          ready: st?.ready ?? 0,
          desired: st?.desired ?? 0,
          pods: (st?.pods ?? []).map((p) => ({ id: p.id, state: p.state, restarts: p.restarts })),
        };
      });
      const key = `${ns}/${svc.metadata.name}`;
      return {
        namespace: ns,
        name: svc.metadata.name,
        url: status.url,
        ready: status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        latestReadyRevision: status.latestReadyRevisionName,
        readyReplicas: revisions.reduce((n, r) => n + r.ready, 0),
        desiredReplicas: revisions.reduce((n, r) => n + r.desired, 0),
        revisions,
        history: history.get(key) ?? [],
      };
    });
  };

  /** One point of every service's history, then a push to every open stream. */
  const sample = (): void => {
    const now = clock.now();
    const periodS = Math.max(now - lastSampleMs, 1) / 1000;
    lastSampleMs = now;
    const seen = new Set<string>();
    const byService = revisionsByService(d.store);
    for (const svc of d.store.list('services')) {
      const ns = svc.metadata.namespace ?? 'default';
      const key = `${ns}/${svc.metadata.name}`;
      seen.add(key);
      let ready = 0;
      let desired = 0;
      let total = 0;
      for (const r of byService.get(key) ?? []) {
        const st = d.runtime.status(revisionId(ns, r.metadata.name));
        ready += st?.ready ?? 0;
        desired += st?.desired ?? 0;
        total += d.metrics.requestTotal(ns, r.metadata.name);
      }
      const prev = lastTotals.get(key) ?? total;
      lastTotals.set(key, total);
      const list = history.get(key) ?? [];
      pushBounded(list, { t: now, ready, desired, rps: Math.max(0, total - prev) / periodS }, historyLength);
      history.set(key, list);
    }
    for (const key of history.keys()) {
      if (!seen.has(key)) {
        history.delete(key);
        lastTotals.delete(key);
      }
    }
    if (streams.size) {
      const frame = `event: state\ndata: ${JSON.stringify(state())}\n\n`;
      for (const s of streams) s.write(frame);
    }
  };
  const timer: TimerHandle = clock.setInterval(sample, sampleMs);

  const warningEvents = (): RecentItem[] => {
    const namespaces = new Set(d.store.list('services').map((s) => s.metadata.namespace ?? 'default'));
    const out: RecentItem[] = [];
    for (const ns of namespaces) {
      for (const e of d.events.list(ns)) {
        if (e.type !== 'Warning') continue;
        const kind = e.involvedObject.kind;
        out.push({
          time: Date.parse(e.lastTimestamp),
          namespace: ns,
          service: kind === 'Service' ? e.involvedObject.name : '',
          revision: kind === 'Revision' ? e.involvedObject.name : '',
          error: e.reason,
          message: e.message,
        });
      }
    }
    return out;
  };

  const state = (): DashboardState => ({
    time: clock.now(),
    services: serviceViews(),
    coldStarts: [...coldStarts].reverse(),
    errors: [...serverErrors, ...warningEvents()].sort((a, b) => b.time - a.time).slice(0, RECENT_MAX),
  });

  const isUiPath = (path: string) => path === '/ui' || path.startsWith('/ui/');

  return {
    allows(req) {
      const q = req.url.indexOf('?');
      const path = q < 0 ? req.url : req.url.slice(0, q);
      if (!isUiPath(path)) return false;
      if (sameSecret(cookieValue(req.headers.cookie, UI_COOKIE), cookieBuf)) return true;
      // The one place the token may come in the query: the login link.
      if (path === '/ui/' && q >= 0) return sameSecret(new URLSearchParams(req.url.slice(q + 1)).get('token') ?? undefined, tokenBuf);
      return false;
    },

    state,

    register(app) {
      const sendFile = (res: ServerResponse, file: string, type: string) => {
        if (!uiDir) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('the dashboard files (ui/) are missing from this installation\n');
          return;
        }
        const body = readFileSync(join(uiDir, file));
        res.writeHead(200, { 'content-type': type, 'content-length': body.length, ...SECURITY_HEADERS });
        res.end(body);
      };

      app.get('/ui', async (_req, reply) => reply.redirect('/ui/', 302));
      app.get<{ Querystring: { token?: string } }>('/ui/', async (req, reply) => {
        if (req.query.token !== undefined) {
          // The hook let this through only with the right token.
          void reply.header('set-cookie', `${UI_COOKIE}=${cookieSecret}; Path=/ui; HttpOnly; SameSite=Strict`);
          void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
          return reply.redirect('/ui/', 303);
        }
        reply.hijack();
        sendFile(reply.raw, 'index.html', STATIC_TYPES.html!);
      });
      app.get<{ Params: { file: string } }>('/ui/:file', async (req, reply) => {
        // Only plain file names of the page's own kinds: nothing outside ui/.
        const m = /^[a-z0-9-]+\.(js|css|svg)$/.exec(req.params.file);
        if (!m || !uiDir || !existsSync(join(uiDir, req.params.file))) {
          return reply.status(404).send({ statusCode: 404, code: 'ZENO_ERR_RESOURCE_NOT_FOUND', error: 'Not Found', message: `no dashboard file ${req.params.file}` });
        }
        reply.hijack();
        sendFile(reply.raw, req.params.file, STATIC_TYPES[m[1]!]!);
      });

      app.get('/ui/api/state', async (_req, reply) => {
        void reply.header('cache-control', 'no-store');
        return state();
      });

      app.get('/ui/api/stream', async (req, reply) => {
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
        res.write(`retry: 2000\nevent: state\ndata: ${JSON.stringify(state())}\n\n`);
        streams.add(res);
        req.raw.on('close', () => streams.delete(res));
      });

      app.get<{ Querystring: { namespace?: string; service?: string; pod?: string; tail?: string } }>('/ui/api/logs', async (req) => {
        const ns = req.query.namespace ?? 'default';
        const svc = req.query.service ? d.store.get('services', ns, req.query.service) : undefined;
        if (!svc) return { lines: [], pods: [] };
        const tail = Math.min(Math.max(Number(req.query.tail) || 200, 1), 2_000);
        const revs = revisionsOf(svc).map((r) => revisionId(ns, r.metadata.name));
        const all = revs.flatMap((r) => d.runtime.logs(r)).sort((a, b) => a.time - b.time);
        // Pods running now, then pods that are gone but left lines.
        const pods = [...new Set([...revs.flatMap((r) => (d.runtime.status(r)?.pods ?? []).map((p) => p.id)), ...all.map((l) => l.pod)])];
        const lines = req.query.pod ? all.filter((l) => l.pod === req.query.pod) : all;
        return { pods, lines: lines.slice(Math.max(0, lines.length - tail)) };
      });

      // Brokers and triggers, when the admin API serves them (eventing).
      app.get('/ui/api/eventing', async () => {
        const get = async (plural: string): Promise<KObject[] | undefined> => {
          const r = await app.inject({ method: 'GET', url: `/apis/eventing.knative.dev/v1/${plural}`, headers: { authorization: `Bearer ${d.token}` } });
          if (r.statusCode !== 200) return undefined;
          return (r.json() as { items?: KObject[] }).items ?? [];
        };
        const [brokers, triggers] = await Promise.all([get('brokers'), get('triggers')]);
        return { available: brokers !== undefined, brokers: brokers ?? [], triggers: triggers ?? [] };
      });
    },

    close() {
      clock.clearInterval(timer);
      offActivity();
      for (const s of streams) s.end();
      streams.clear();
    },
  };
}

/**
 * ApiServerSource's access to the cluster (eventing/sources/apiserver.ts
 * ApiServerClient) on @kubernetes/client-node: the kind is mapped to its
 * resource through discovery (KubernetesObjectApi.resource, as dynamic
 * clients do), then listed and watched with a ResumableWatch (resume from
 * the last resourceVersion, relist on 410 Gone).
 */
import * as k8s from '@kubernetes/client-node';
import { realClock, type Clock } from '../../core/clock.js';
import type { ApiServerClient, WatchedObject } from '../../eventing/sources/apiserver.js';
import { ResumableWatch, type KubeObject } from './watch.js';

function statusOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown })?.code ?? (e as { statusCode?: unknown })?.statusCode;
  return typeof c === 'number' ? c : undefined;
}

function messageOf(e: unknown): string {
  const body = (e as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      // not JSON
    }
  }
  return ((e as Error).message ?? String(e)).split('\n')[0]!;
}

/** KubernetesObjectApi with its discovery lookup opened up (it is protected there). */
class ObjectApi extends k8s.KubernetesObjectApi {
  lookup(apiVersion: string, kind: string): Promise<k8s.V1APIResource | undefined> {
    return this.resource(apiVersion, kind);
  }
}

export function createApiServerClient(kc: k8s.KubeConfig, opts: { clock?: Clock; log?: (line: string) => void } = {}): ApiServerClient {
  const clock = opts.clock ?? realClock;
  const objects = kc.makeApiClient(ObjectApi);
  const watcher = new k8s.Watch(kc);
  const url = kc.getCurrentCluster()?.server ?? '';
  return {
    url,
    watch(w) {
      const apiRoot = w.apiVersion.includes('/') ? `/apis/${w.apiVersion}` : `/api/${w.apiVersion}`;
      let path: string | undefined;
      const resolvePath = async (): Promise<string> => {
        if (path) return path;
        const r = await objects.lookup(w.apiVersion, w.kind);
        if (!r) throw Object.assign(new Error(`the server has no ${w.kind} in ${w.apiVersion}`), { code: 404 });
        path = r.namespaced ? `${apiRoot}/namespaces/${w.namespace}/${r.name}` : `${apiRoot}/${r.name}`;
        return path;
      };
      const rw = new ResumableWatch({
        clock,
        ...(opts.log ? { log: (l: string) => opts.log!(`apiserversource ${w.kind}: ${l}`) } : {}),
        source: {
          async list() {
            const p = await resolvePath();
            const list = (await objects.list(w.apiVersion, w.kind, p.includes('/namespaces/') ? w.namespace : undefined, undefined, undefined, undefined, undefined, w.labelSelector)) as {
              items: KubeObject[];
              metadata?: { resourceVersion?: string };
            };
            return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
          },
          async watch(resourceVersion, onEvent, onDone) {
            const p = await resolvePath();
            const q: Record<string, string | boolean> = { resourceVersion, allowWatchBookmarks: true };
            if (w.labelSelector) q.labelSelector = w.labelSelector;
            const ac = await watcher.watch(p, q, onEvent, onDone);
            return { abort: () => ac.abort() };
          },
        },
        onUpsert: () => undefined,
        onDelete: () => undefined,
        onSynced: () => w.onSynced(),
        onWatchEvent: (type, obj) => w.onChange(type, obj as WatchedObject),
        onListError: (e) => {
          const status = statusOf(e);
          w.onError({ ...(status !== undefined ? { status } : {}), message: messageOf(e) });
        },
      });
      rw.start();
      return { stop: () => rw.stop() };
    },
  };
}

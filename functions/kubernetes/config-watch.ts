/**
 * Knative's ConfigMaps from the cluster (cluster mode): the platform's own
 * namespace is listed and watched (resumably, watch.ts), and every ConfigMap
 * Zeno reads (config-autoscaler, config-defaults, ...) is handed to the
 * platform as it changes, as Knative's controllers follow theirs with a
 * ConfigMap watcher. Others in the namespace are ignored.
 */
import * as k8s from '@kubernetes/client-node';
import { realClock, type Clock } from '../../core/clock.js';
import type { KObject } from '../../core/types.js';
import { ResumableWatch } from './watch.js';

export interface ConfigSink {
  put(cm: KObject): void;
  delete(namespace: string, name: string): void;
  /** After each full list: the names present in the namespace now (others stored from before are gone). */
  synced?(namespace: string, names: string[]): void;
}

export interface ClusterConfigWatchOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  /** ConfigMap names to follow (controller/validation/configmap.ts KNOWN_CONFIG_MAPS). */
  names: readonly string[];
  sink: ConfigSink;
  clock?: Clock;
  log?: (line: string) => void;
}

/** Only what a ConfigMap means to the platform: name, namespace, labels, data. */
function asConfigMap(o: k8s.V1ConfigMap): KObject {
  const meta = o.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: meta.name ?? '', namespace: meta.namespace ?? '', ...(meta.labels ? { labels: { ...meta.labels } } : {}) },
    data: { ...(o.data ?? {}) },
  } as KObject;
}

export interface ClusterConfigWatch {
  /** Starts following; resolves once the first list has been handed over. */
  start(): Promise<void>;
  stop(): void;
}

export function watchClusterConfigMaps(o: ClusterConfigWatchOptions): ClusterConfigWatch {
  const core = o.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const watcher = new k8s.Watch(o.kubeConfig);
  const { namespace } = o;
  const wanted = (obj: { metadata?: { name?: string } }) => o.names.includes(obj.metadata?.name ?? '');
  let synced: () => void = () => undefined;
  const firstSync = new Promise<void>((resolve) => (synced = resolve));
  const w = new ResumableWatch({
    clock: o.clock ?? realClock,
    onSynced: () => {
      o.sink.synced?.(namespace, w.items().filter(wanted).map((cm) => cm.metadata!.name!));
      synced();
    },
    log: (l) => o.log?.(`kubernetes: configmaps in ${namespace}: ${l}`),
    source: {
      async list() {
        const res = await core.listNamespacedConfigMap({ namespace });
        return { items: res.items as never, resourceVersion: res.metadata?.resourceVersion ?? '' };
      },
      async watch(resourceVersion, onEvent, onDone) {
        const ac = await watcher.watch(`/api/v1/namespaces/${namespace}/configmaps`, { resourceVersion, allowWatchBookmarks: true }, onEvent, onDone);
        return { abort: () => ac.abort() };
      },
    },
    onUpsert: (cm) => {
      if (wanted(cm)) o.sink.put(asConfigMap(cm as k8s.V1ConfigMap));
    },
    onDelete: (cm) => {
      if (wanted(cm)) o.sink.delete(namespace, cm.metadata!.name!);
    },
  });
  return {
    start() {
      w.start();
      return firstSync;
    },
    stop: () => {
      w.stop();
      synced();
    },
  };
}

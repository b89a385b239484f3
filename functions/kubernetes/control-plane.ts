/**
 * The platform's options for cluster mode (`zeno up --runtime kubernetes`):
 * functions run as Deployments (kube-runtime.ts) and, unless turned off,
 * the instance campaigns for a Lease (leader.ts). Only the leader writes to
 * the cluster and runs the reconciler and the autoscaler; a standby watches,
 * serves nothing, and takes over when the leader stops renewing.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type * as k8s from '@kubernetes/client-node';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import type { PlatformOptions } from '../../controller/platform.js';
import { KNOWN_CONFIG_MAPS } from '../../controller/validation/configmap.js';
import { watchClusterConfigMaps } from './config-watch.js';
import { createApiServerClient } from './apiserver-client.js';
import { createKubernetesRuntime, type KubernetesRuntime } from './kube-runtime.js';
import { LeaderElector } from './leader.js';
import type { SidecarSpec } from './manifests.js';

export interface LeaseSettings {
  namespace: string;
  name: string;
  /** @default `${hostname}_${uuid}`, client-go's convention: unique per process */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ClusterModeOptions {
  kubeConfig: k8s.KubeConfig;
  /** The Lease to campaign for; undefined: no leader election, this instance always leads. */
  lease?: LeaseSettings;
  /** The namespace whose Knative ConfigMaps (config-autoscaler, ...) the platform follows; undefined: none. */
  configNamespace?: string;
  /** Put the queue-proxy-style sidecar in every function pod (kube-runtime.ts `sidecar`). */
  sidecar?: SidecarSpec;
}

/** The Lease's default namespace: the kubeconfig context's (in a pod, the pod's own), else `default`. */
export function defaultLeaseNamespace(kc: k8s.KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}

/** A unique identity per process, as client-go's callers build it (hostname + uuid). */
export function leaseIdentity(): string {
  return `${os.hostname()}_${randomUUID()}`;
}

export function clusterModeOptions(o: ClusterModeOptions): Pick<PlatformOptions, 'createRuntime' | 'runtimeKind' | 'leaderElection' | 'configWatch' | 'apiServerClient'> {
  let runtime: KubernetesRuntime | undefined;
  const lease = o.lease;
  const configNamespace = o.configNamespace;
  return {
    runtimeKind: 'kubernetes',
    ...(configNamespace
      ? { configWatch: (sink, { clock, log }) => watchClusterConfigMaps({ kubeConfig: o.kubeConfig, namespace: configNamespace, names: KNOWN_CONFIG_MAPS, sink, clock, log }) }
      : {}),
    apiServerClient: ({ clock, log }) => createApiServerClient(o.kubeConfig, { clock, log }),
    createRuntime: ({ clock, log }) => {
      // Under leader election nothing is written until the Lease is ours.
      runtime = createKubernetesRuntime({ kubeConfig: o.kubeConfig, clock, log, writable: !lease, ...(o.sidecar ? { sidecar: o.sidecar } : {}) });
      return runtime;
    },
    ...(lease
      ? {
          leaderElection: (hooks, { clock, log }) =>
            new LeaderElector({
              kubeConfig: o.kubeConfig,
              namespace: lease.namespace,
              name: lease.name,
              identity: lease.identity ?? leaseIdentity(),
              clock,
              log,
              leaseDurationMs: lease.leaseDurationMs ?? PLATFORM_DEFAULTS.leaseDurationMs,
              renewDeadlineMs: lease.renewDeadlineMs ?? PLATFORM_DEFAULTS.leaseRenewDeadlineMs,
              retryPeriodMs: lease.retryPeriodMs ?? PLATFORM_DEFAULTS.leaseRetryPeriodMs,
              onStartedLeading: () => {
                runtime?.setWritable(true);
                hooks.started();
              },
              onStoppedLeading: () => {
                // Stop deciding first, then stop writing what was already decided.
                hooks.stopped();
                runtime?.setWritable(false);
              },
            }),
        }
      : {}),
  };
}

/**
 * `zeno up --runtime kubernetes`: the kubeconfig to use and a first call to
 * the API server, so a wrong file or an unreachable cluster stops `up` with
 * one clear line instead of a stack trace from the first watch.
 */
import fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { ZenoError } from '../../core/errors.js';

export interface ClusterConnection {
  kubeConfig: k8s.KubeConfig;
  server: string;
  /** The API server's gitVersion, e.g. v1.31.0. */
  version: string;
}

/** Loads the kubeconfig (a file, else $KUBECONFIG or ~/.kube/config) and checks the API server answers /version. */
export async function connectCluster(opts: { kubeconfig?: string; timeoutMs?: number } = {}): Promise<ClusterConnection> {
  const kc = new k8s.KubeConfig();
  const file = opts.kubeconfig ?? process.env.KUBECONFIG?.split(':')[0];
  try {
    if (file) {
      if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
      kc.loadFromFile(file);
    } else {
      kc.loadFromDefault();
    }
  } catch (e) {
    throw new ZenoError('ZENO_ERR_KUBECONFIG', `cannot load kubeconfig: ${firstLine(e)} [ZENO_ERR_KUBECONFIG]`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new ZenoError('ZENO_ERR_KUBECONFIG', `kubeconfig${file ? ` ${file}` : ''} has no current context with a cluster; set current-context [ZENO_ERR_KUBECONFIG]`);
  }
  const timeoutMs = opts.timeoutMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const info = await Promise.race([
      kc.makeApiClient(k8s.VersionApi).getCode(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { kubeConfig: kc, server: cluster.server, version: info.gitVersion };
  } catch (e) {
    throw new ZenoError('ZENO_ERR_CLUSTER_UNREACHABLE', `cannot reach the Kubernetes API server at ${cluster.server}: ${firstLine(e)} [ZENO_ERR_CLUSTER_UNREACHABLE]`);
  } finally {
    clearTimeout(timer);
  }
}

function firstLine(e: unknown): string {
  const err = e as { code?: unknown; message?: string; cause?: { code?: string } };
  const msg = (err.message ?? String(e)).split('\n')[0]!.replace(/^request to \S+ failed, reason: /, '');
  return typeof err.code === 'number' ? `HTTP ${err.code}${msg.includes('Unauthorized') ? ' Unauthorized' : ''}` : msg;
}

/**
 * PodTemplates for runtime tests against the fake API server: an image-only
 * container (nothing runs it: the fake kubelet only reports readiness), with
 * a fresh revision name `PREFIXn-00001` per call so tests never collide.
 */
import type { PodTemplate } from '../../../functions/runtime.js';

export function imagePodTemplates(prefix: string): (over?: Partial<PodTemplate>) => PodTemplate {
  let seq = 1;
  return (over = {}) => {
    const revision = `${prefix}${seq++}-00001`;
    const service = revision.replace(/-\d+$/, '');
    return {
      id: `default/${revision}`,
      namespace: 'default',
      service,
      configuration: service,
      revision,
      image: 'example.com/zeno/fixture:1',
      command: [],
      args: [],
      workingDir: '/unused',
      env: {},
      containerPort: 8080,
      timeoutSeconds: 2,
      ...over,
    };
  };
}

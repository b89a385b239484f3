import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFunctionRuntimeContract } from '../runtime-contract.js';
import type { PodTemplate } from '../runtime.js';
import { createLocalRuntime } from './local-runtime.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/functions');
let seq = 1;

function template(over: Partial<PodTemplate> = {}): PodTemplate {
  const revision = `contract${seq++}-00001`;
  return {
    id: `default/${revision}`,
    namespace: 'default',
    service: revision.replace(/-\d+$/, ''),
    configuration: revision.replace(/-\d+$/, ''),
    revision,
    command: [process.execPath, join(FIXTURES, 'server.js')],
    args: [],
    workingDir: FIXTURES,
    env: {},
    containerPort: 8080,
    timeoutSeconds: 2,
    ...over,
  };
}

runFunctionRuntimeContract('local processes', async () => {
  const runtime = createLocalRuntime({ warmPoolSize: 0 });
  return {
    runtime,
    template,
    breakableTemplate: () =>
      template({ readinessProbe: { httpGet: { path: '/ready', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] }, periodSeconds: 1, failureThreshold: 1 } }),
    // The fixture's /fail makes its /ready answer 503 from then on.
    breakReadiness: async (pod) => void (await fetch(`${pod.url}/fail`).then((r) => r.text())),
    env: async (pod) => (await (await fetch(`${pod.url}/env`)).json()) as Record<string, string>,
    dispose: () => runtime.close(),
  };
});

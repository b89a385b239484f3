/**
 * `node dist/functions/sidecar/main.js`: the queue-proxy-style sidecar of a
 * function pod on Kubernetes (see sidecar.ts). Settings come from the env
 * (env.ts). SIGTERM drains, then exits 0.
 */
import { sidecarOptionsFromEnv } from './env.js';
import { startSidecar } from './sidecar.js';

const parsed = sidecarOptionsFromEnv(process.env);
if (!parsed.ok) {
  for (const p of parsed.problems) process.stderr.write(`zeno-sidecar: ${p}\n`);
  process.exit(2);
}
const log = (line: string) => process.stdout.write(`${line}\n`);
const sidecar = await startSidecar({ ...parsed.options, log });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void sidecar
    .drain()
    .then(() => sidecar.close())
    .then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

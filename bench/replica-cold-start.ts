/**
 * What a data-plane replica (`zeno up --role gateway`) adds to a cold
 * start: the same cold start (a fresh hello Service at initial-scale 0, the
 * first request timed to its full response), through the control plane's
 * own gateway and through a replica, in turns so machine drift hits both
 * alike. Through the replica the request waits there; its poke crosses to
 * the control plane by HTTP, and the pod's readiness comes back on the feed.
 *
 *   npm run build && node dist/bench/replica-cold-start.js   # BENCH_COLD_N=20 by default
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zenoColdStart } from './cold-start.js';
import { startZeno, ZERO_INITIAL_SCALE_CONFIG } from './platform.js';
import { spawnTracked, stopAllChildren, waitUntil } from './proc.js';
import { summarize } from './report.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const HELLO_DIR = join(ROOT, 'functions/examples/hello');
async function main(): Promise<void> {
  const n = Number(process.env.BENCH_COLD_N ?? 20);
  const tmp = mkdtempSync(join(tmpdir(), 'zeno-bench-replica-'));
  const configFile = join(tmp, 'config.yaml');
  writeFileSync(configFile, ZERO_INITIAL_SCALE_CONFIG);
  const dataDir = join(tmp, 'data');
  mkdirSync(dataDir);
  const z = await startZeno({ root: ROOT, dataDir, configFile, extraArgs: ['--warm-pool', '0'] });
  const replica = spawnTracked(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'up', '--role', 'gateway', '--port', '0', '--control-url', z.adminUrl, '--token-file', join(dataDir, 'token')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  replica.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  replica.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let replicaUrl = '';
  await waitUntil(() => Boolean((replicaUrl = /gateway:\s+(http:\/\/\S+)/.exec(out)?.[1] ?? '')), 20_000, 'the replica to start');
  await waitUntil(async () => (await fetch(`${replicaUrl}/readyz`).catch(() => undefined))?.status === 200, 20_000, 'the replica to sync');
  const viaReplica = { ...z, gatewayPort: Number(new URL(replicaUrl).port) };
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  try {
    // Untimed: warms the page cache and both paths.
    await zenoColdStart(z, 'warm-direct', HELLO_DIR);
    await zenoColdStart(viaReplica, 'warm-replica', HELLO_DIR);
    const direct: number[] = [];
    const replicated: number[] = [];
    for (let i = 1; i <= n; i++) {
      direct.push(await zenoColdStart(z, `direct-${i}`, HELLO_DIR));
      replicated.push(await zenoColdStart(viaReplica, `replica-${i}`, HELLO_DIR));
      console.error(`${i}/${n}: direct ${direct.at(-1)!.toFixed(1)} ms, via replica ${replicated.at(-1)!.toFixed(1)} ms (load ${load()})`);
    }
    const d = summarize(direct);
    const r = summarize(replicated);
    const diffs = direct.map((x, i) => replicated[i]! - x);
    const dd = summarize(diffs);
    console.log(`cold start, n=${n} each, alternating; load average at end ${load()}`);
    console.log(`  through the control plane's gateway: p50 ${d.p50.toFixed(1)} ms, min ${d.min.toFixed(1)}, max ${d.max.toFixed(1)}`);
    console.log(`  through a --role gateway replica:   p50 ${r.p50.toFixed(1)} ms, min ${r.min.toFixed(1)}, max ${r.max.toFixed(1)}`);
    console.log(`  replica minus direct, per pair:      p50 ${dd.p50.toFixed(1)} ms, min ${dd.min.toFixed(1)}, max ${dd.max.toFixed(1)}`);
  } finally {
    await stopAllChildren();
  }
}

main().catch(async (e: unknown) => {
  console.error(e);
  await stopAllChildren();
  process.exit(1);
});

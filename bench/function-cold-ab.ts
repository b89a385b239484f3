/**
 * Function cold starts only, with and without the warm pool, for one or two
 * builds of Zeno at once, each sample followed by a bare `node server.js`
 * spawn: an A/B comparison taken in turns, so load from other work on the
 * machine hits every series alike.
 *
 *   npm run build && node dist/bench/function-cold-ab.js [ROUNDS] [BASELINE_ROOT]
 *
 * BASELINE_ROOT is another checkout of Zeno, built (its dist/cli/main.js runs
 * its own Node runtime). Without it only this build is measured. Prints
 * p50/p99 per series, the ratio to the bare spawns taken beside it, and the
 * load average before and after.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bareColdStart, FUNCTION_HANDLER, functionColdStart } from './cold-start.js';
import { startZeno, ZERO_INITIAL_SCALE_CONFIG, type Zeno } from './platform.js';
import { stopAllChildren } from './proc.js';
import { percentile } from './report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HELLO_DIR = join(ROOT, 'functions/examples/hello');

interface Series {
  label: string;
  z: Zeno;
  fn: number[];
  bare: number[];
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const rounds = Number(process.argv[2]) || 10;
  const roots: [string, string][] = [['new', ROOT]];
  if (process.argv[3]) roots.unshift(['old', resolve(process.argv[3])]);
  const tmp = mkdtempSync(join(tmpdir(), 'zeno-fn-ab-'));
  const configFile = join(tmp, 'config-autoscaler.yaml');
  writeFileSync(configFile, ZERO_INITIAL_SCALE_CONFIG);
  const handlerDir = join(tmp, 'fn');
  mkdirSync(handlerDir);
  writeFileSync(join(handlerDir, 'handler.mjs'), FUNCTION_HANDLER);
  const series: Series[] = [];
  const loadBefore = load();
  try {
    for (const [name, root] of roots) {
      for (const pool of [true, false]) {
        const dataDir = join(tmp, `${name}-${pool}`);
        mkdirSync(dataDir);
        const z = await startZeno({ root, dataDir, configFile, extraArgs: pool ? [] : ['--warm-pool', '0'] });
        series.push({ label: `${name} ${pool ? 'pool' : 'no pool'}`, z, fn: [], bare: [] });
      }
    }
    // An untimed round: page cache, the pools filled, the platforms' own first requests.
    for (const s of series) await functionColdStart(s.z, `warmup`, handlerDir);
    await bareColdStart(HELLO_DIR);
    for (let i = 1; i <= rounds; i++) {
      for (const s of series) {
        s.fn.push(await functionColdStart(s.z, `fn-${i}`, handlerDir));
        s.bare.push(await bareColdStart(HELLO_DIR));
      }
      process.stderr.write(`round ${i}/${rounds}: ${series.map((s) => `${s.label} ${s.fn.at(-1)!.toFixed(1)}/${s.bare.at(-1)!.toFixed(1)}`).join(', ')}  load ${load()}\n`);
    }
  } finally {
    await stopAllChildren();
    rmSync(tmp, { recursive: true, force: true });
  }
  const f = (x: number): string => x.toFixed(1).padStart(7);
  console.log(`function cold start through the gateway, ${rounds} rounds, load average ${loadBefore} → ${load()}`);
  console.log('series'.padEnd(14) + '    p50     p99  bare p50 bare p99  ratio p50 ratio p99');
  // Every bare spawn of the run together: a steadier baseline than each series' own on a loaded machine.
  const allBare = series.flatMap((s) => s.bare).sort((x, y) => x - y);
  const [all50, all99] = [percentile(allBare, 50), percentile(allBare, 99)];
  console.log(`all ${allBare.length} bare spawns: p50 ${all50.toFixed(1)} ms, p99 ${all99.toFixed(1)} ms`);
  for (const s of series) {
    const a = [...s.fn].sort((x, y) => x - y);
    const b = [...s.bare].sort((x, y) => x - y);
    const [p50, p99, b50, b99] = [percentile(a, 50), percentile(a, 99), percentile(b, 50), percentile(b, 99)];
    console.log(s.label.padEnd(14) + `${f(p50)} ${f(p99)}  ${f(b50)}  ${f(b99)}    ${(p50 / b50).toFixed(3)}     ${(p99 / b99).toFixed(3)}   vs all bare ${(p50 / all50).toFixed(3)} / ${(p99 / all99).toFixed(3)}`);
  }
}

await main();

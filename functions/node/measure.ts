/**
 * Cold start of one pod on the local runtime, spawn → ready and spawn →
 * first full response, for the Node function runtime with and without the
 * warm pool and the TypeScript compile cache, beside the plain hello example.
 *
 *   npm run build && node dist/functions/node/measure.js [ROUNDS]
 *
 * Cases run in turns, round by round, so drift on the machine hits them alike.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createLocalRuntime } from '../local/local-runtime.js';
import type { WarmPool } from '../local/warm-pool.js';
import type { FunctionRuntime, PodTemplate } from '../runtime.js';
import { nodeRuntimeEntry } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/functions/node → the package root, where functions/examples lives.
const ROOT = resolve(here, '..', '..', '..');
const HELLO_DIR = join(ROOT, 'functions', 'examples', 'hello');

interface Case {
  label: string;
  pool: boolean;
  template: (name: string) => PodTemplate;
  /** Runs before each sample (e.g. empties the compile cache). */
  before?: () => void;
}

function base(name: string, command: string[], args: string[], workingDir: string, env: Record<string, string> = {}): PodTemplate {
  const revision = `${name}-00001`;
  return { id: `default/${revision}`, namespace: 'default', service: name, configuration: name, revision, command, args, workingDir, env, containerPort: 8080, timeoutSeconds: 5 };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

async function sample(rt: FunctionRuntime, pool: WarmPool | undefined, t: PodTemplate): Promise<{ ready: number; first: number }> {
  rt.deploy(t);
  if (pool) await until(() => pool.bootedCount() >= 2, 30_000, 'a full pool');
  let readyAt = 0;
  const off = rt.subscribe((e) => {
    if (e.type === 'pod-ready' && e.revision === t.id) readyAt = performance.now();
  });
  const t0 = performance.now();
  rt.scale(t.id, 1);
  await until(() => readyAt > 0, 30_000, `${t.revision} ready`);
  const url = rt.readyPods(t.id)[0]!.url;
  const body = await (await fetch(url)).text();
  const t1 = performance.now();
  off();
  if (!body.startsWith('Hello')) throw new Error(`${t.revision} answered ${JSON.stringify(body)}`);
  await rt.remove(t.id);
  return { ready: readyAt - t0, first: t1 - t0 };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2]) || 10;
  const dir = mkdtempSync(join(tmpdir(), 'zeno-measure-'));
  const warmCache = join(dir, 'cache-warm');
  const coldCache = join(dir, 'cache-cold');
  writeFileSync(join(dir, 'hello.mjs'), `export default () => new Response('Hello World!\\n');\n`);
  writeFileSync(join(dir, 'hello.ts'), `const body: string = 'Hello World!\\n';\nexport default (_req: Request): Response => new Response(body);\n`);
  const runtime = [process.execPath, nodeRuntimeEntry()];
  const cases: Case[] = [
    { label: 'hello example (node server.js)', pool: false, template: (n) => base(n, [process.execPath, 'server.js'], [], HELLO_DIR) },
    { label: 'Node runtime, .mjs, no pool', pool: false, template: (n) => base(n, runtime, [join(dir, 'hello.mjs')], dir) },
    { label: 'Node runtime, .mjs, pool', pool: true, template: (n) => base(n, runtime, [join(dir, 'hello.mjs')], dir) },
    {
      label: 'Node runtime, .ts, no pool, no cache',
      pool: false,
      before: () => rmSync(coldCache, { recursive: true, force: true }),
      template: (n) => base(n, runtime, [join(dir, 'hello.ts')], dir, { ZENO_CACHE_DIR: coldCache }),
    },
    { label: 'Node runtime, .ts, no pool, cached', pool: false, template: (n) => base(n, runtime, [join(dir, 'hello.ts')], dir, { ZENO_CACHE_DIR: warmCache }) },
    {
      label: 'Node runtime, .ts, pool, no cache',
      pool: true,
      before: () => rmSync(coldCache, { recursive: true, force: true }),
      template: (n) => base(n, runtime, [join(dir, 'hello.ts')], dir, { ZENO_CACHE_DIR: coldCache }),
    },
    { label: 'Node runtime, .ts, pool, cached', pool: true, template: (n) => base(n, runtime, [join(dir, 'hello.ts')], dir, { ZENO_CACHE_DIR: warmCache }) },
  ];

  let pool: WarmPool | undefined;
  const withPool = createLocalRuntime({ warmPoolSize: 2, onWarmPool: (p) => (pool = p) });
  const noPool = createLocalRuntime({ warmPoolSize: 0 });
  const results = cases.map(() => ({ ready: [] as number[], first: [] as number[] }));
  let n = 0;
  try {
    // Round 0 is untimed: page cache, and the cached TS output for the "cached" cases.
    for (let round = 0; round <= rounds; round++) {
      for (const [i, c] of cases.entries()) {
        c.before?.();
        const rt = c.pool ? withPool : noPool;
        const s = await sample(rt, c.pool ? pool ?? (await firstPool(rt, c, ++n, () => pool)) : undefined, c.template(`m${++n}`));
        if (round > 0) {
          results[i]!.ready.push(s.ready);
          results[i]!.first.push(s.first);
        }
      }
    }
  } finally {
    await Promise.all([withPool.close(), noPool.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`cold start on the local runtime, ${rounds} rounds (ms): spawn or specialize → ready | → first response`);
  console.log('case'.padEnd(40) + 'ready p50  p99   first p50  p99');
  for (const [i, c] of cases.entries()) {
    const r = results[i]!;
    const f = (x: number): string => x.toFixed(1).padStart(6);
    console.log(c.label.padEnd(40) + `${f(pct(r.ready, 50))} ${f(pct(r.ready, 99))}   ${f(pct(r.first, 50))} ${f(pct(r.first, 99))}`);
  }
}

/** The pool exists after the first Node-runtime deploy: do one so it does. */
async function firstPool(rt: FunctionRuntime, c: Case, n: number, get: () => WarmPool | undefined): Promise<WarmPool> {
  rt.deploy(c.template(`pool-init-${n}`));
  await until(() => get() !== undefined, 30_000, 'the pool');
  return get()!;
}

await main();

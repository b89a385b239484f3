/**
 * Writes deploy/kubernetes/*.yaml from install.ts (`npm run deploy:manifests`).
 * With --check it writes nothing and exits 1 when a file is not what
 * install.ts generates (test/deploy-manifests.test.ts does the same check).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installFiles, renderFile } from './install.js';

/** deploy/kubernetes in the source tree, whether run from source or from dist/. */
export function installDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = resolve(here, '..', '..');
  return basename(root) === 'dist' ? join(dirname(root), 'deploy', 'kubernetes') : here;
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const dir = installDir();
  let stale = 0;
  for (const f of installFiles()) {
    const file = join(dir, f.name);
    const text = renderFile(f);
    let current: string | undefined;
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    if (check) {
      process.stderr.write(`${file} is not what install.ts generates: run npm run deploy:manifests\n`);
      stale++;
    } else {
      writeFileSync(file, text);
      process.stdout.write(`wrote ${file}\n`);
    }
  }
  return stale ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));

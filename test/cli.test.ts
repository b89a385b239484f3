/**
 * The built `zeno` binary, for what needs no running platform: help, usage
 * errors, local validation (nothing sent) and the unreachable-platform error.
 * Needs `npm run build` first (`npm test` does it).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAIN = resolve(import.meta.dirname, '../dist/cli/main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function zeno(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
  return new Promise((done) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { cwd: opts.cwd ?? tmpdir(), env: { PATH: process.env.PATH ?? '', ...opts.env }, timeout: 30_000 },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

function emptyDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'zeno-cli-e2e-'));
}

/** A port nothing listens on: bind one, then free it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('zeno (built binary)', () => {
  it('prints help and exits 0', async () => {
    const r = await zeno(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: zeno COMMAND');
    for (const c of ['up', 'apply', 'delete', 'get', 'describe', 'invoke', 'logs']) expect(r.stdout).toContain(`  ${c} `);
  });

  it('prints a command help', async () => {
    const r = await zeno(['apply', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: zeno apply -f FILE|DIR');
    expect(r.stdout).toContain('--no-wait');
  });

  it('exits 2 on an unknown command and on an unknown flag', async () => {
    const a = await zeno(['frobnicate']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^error: unknown command "frobnicate"/);
    expect(a.stderr.trimEnd().split('\n')).toHaveLength(1);
    const b = await zeno(['get', 'ksvc', '--bogus']);
    expect(b.code).toBe(2);
    expect(b.stderr).toBe('error: unknown flag --bogus for "zeno get" (see "zeno get --help")\n');
  });

  it('refuses an invalid manifest with file:line:col and the field path, sending nothing', async () => {
    const dir = emptyDataDir();
    const port = await closedPort();
    // Even with a platform address in the data dir, nothing may be sent: a
    // request would turn into "cannot reach" on this closed port instead.
    writeFileSync(join(dir, 'admin-url'), `http://127.0.0.1:${port}\n`);
    writeFileSync(join(dir, 'token'), 't\n');
    writeFileSync(
      join(dir, 'bad.yaml'),
      ['apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: hello', 'spec:', '  template:', '    spec:', '      timeoutSeconds: 100000', '      containers:', '        - command: [node, server.js]', ''].join('\n'),
    );
    const r = await zeno(['apply', '-f', 'bad.yaml', '--data-dir', dir], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^bad\.yaml:8:\d+: spec\.template\.spec\.timeoutSeconds: .+$/m);
    expect(r.stderr).toMatch(/^error: 1 problem in the manifests; nothing was applied$/m);
    expect(r.stderr).not.toContain('cannot reach');
    expect(r.stdout).toBe('');
  });

  it('reports a YAML syntax error with its position', async () => {
    const dir = emptyDataDir();
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: [ConfigMap\n');
    const r = await zeno(['apply', '-f', 'broken.yaml'], { cwd: dir, env: { ZENO_DATA_DIR: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^broken\.yaml:\d+:\d+: invalid YAML/m);
  });

  it('gives the one-line error with a hint when no platform is in the data dir', async () => {
    const dir = emptyDataDir();
    const r = await zeno(['get', 'services'], { env: { ZENO_DATA_DIR: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: no running Zeno found in ${dir} (no admin-url file there): start it with "zeno up", or point --data-dir (or ZENO_DATA_DIR) at the data dir of the running one\n`);
  });

  it('gives the same error with the URL when the platform does not answer', async () => {
    const dir = emptyDataDir();
    const port = await closedPort();
    writeFileSync(join(dir, 'admin-url'), `http://127.0.0.1:${port}\n`);
    writeFileSync(join(dir, 'token'), 'secret-token\n');
    const r = await zeno(['get', 'ksvc', '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: cannot reach Zeno at http://127.0.0.1:${port} (from ${dir}): it is not running; start it with "zeno up", or point --data-dir (or ZENO_DATA_DIR) at the data dir of the running one\n`);
    expect(r.stderr).not.toContain('secret-token');
  });

  it('--runtime kubernetes against a cluster that is not there: one line with the code, exit 1, nothing started', async () => {
    const dir = emptyDataDir();
    const port = await closedPort();
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, ['apiVersion: v1', 'kind: Config', 'clusters:', '- name: c', '  cluster:', `    server: http://127.0.0.1:${port}`, '    insecure-skip-tls-verify: true', 'users:', '- name: u', '  user: {}', 'contexts:', '- name: x', '  context: {cluster: c, user: u}', 'current-context: x', ''].join('\n'));
    const r = await zeno(['up', '--runtime', 'kubernetes', '--kubeconfig', kubeconfig, '--data-dir', dir, '--port', '0', '--admin-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: cannot reach the Kubernetes API server at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.* \\[ZENO_ERR_CLUSTER_UNREACHABLE\\]\\n$`));
    expect(existsSync(join(dir, 'gateway-url'))).toBe(false);
    const missing = await zeno(['up', '--runtime', 'kubernetes', '--kubeconfig', join(dir, 'nope'), '--data-dir', dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: cannot load kubeconfig: .*nope does not exist \[ZENO_ERR_KUBECONFIG\]\n$/);
  });
});

/** nginx as a plain reverse proxy to the same function process: the yardstick for the gateway's proxying cost. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../functions/local/free-port.js';
import { childPids, spawnTracked, stopChild, waitUntil } from './proc.js';

export interface RunningNginx {
  url: string;
  /** The worker processes (the master only supervises). */
  workers(): number[];
  stop(): Promise<void>;
}

/**
 * worker_processes 1: the machine has two cores and the gateway is one Node
 * process (one core at most), so one nginx worker is the like-for-like
 * proxy; the other core goes to the function and the load generator.
 * keepalive 64 with HTTP/1.1 and an empty Connection header keeps upstream
 * connections open, as the gateway's undici pool does. Like ingress-nginx by
 * default, it sends the function X-Forwarded-For/-Host/-Proto and an
 * X-Request-ID: the gateway must send those (and Forwarded, traceparent) by
 * Knative's runtime contract, so the yardstick does the same kind of work.
 */
export function nginxConf(dir: string, listenPort: number, upstreamPort: number): string {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream fn {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://fn;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-ID $request_id;
    }
  }
}
`;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startNginx(upstreamPort: number): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'zeno-bench-nginx-'));
  const port = await findFreePort('127.0.0.1');
  writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, upstreamPort));
  let stderr = '';
  // -e: the startup error log too, so nothing is written outside dir.
  const child = spawnTracked('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const cleanup = async () => {
    await stopChild(child, 5_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(() => {
      if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}`);
      return accepts(port);
    }, 10_000, 'nginx to listen');
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { url: `http://127.0.0.1:${port}/`, workers: () => (child.pid === undefined ? [] : childPids(child.pid)), stop: cleanup };
}

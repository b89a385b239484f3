import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../../core/clock.js';
import type { Probe } from '../../core/types.js';
import { isSelfConnect, probeOnce, resolveProbe, type ProbePlan } from './probe.js';

describe('resolveProbe', () => {
  const aggressiveTcp: ProbePlan = {
    kind: 'tcp', port: 'pod', host: undefined, scheme: 'http', path: '/', headers: {},
    initialDelayMs: 0, startPeriodMs: 10, startTimeoutMs: 100, readyPeriodMs: 1000, readyTimeoutMs: 1000,
    successThreshold: 1, failureThreshold: 3,
  };
  it.each<{ label: string; input: Probe | undefined; want: ProbePlan }>([
    { label: 'no probe: TCP on PORT every 10 ms (queue-proxy: 50 ms), 100 ms per attempt', input: undefined, want: aggressiveTcp },
    { label: 'periodSeconds 0 is aggressive too', input: { tcpSocket: {}, periodSeconds: 0 }, want: aggressiveTcp },
    {
      label: 'httpGet without period: aggressive HTTP, headers kept, containerPort maps to PORT',
      input: { httpGet: { path: 'healthz', port: 8080, httpHeaders: [{ name: 'X-A', value: '1' }] } },
      want: { ...aggressiveTcp, kind: 'http', path: '/healthz', headers: { 'X-A': '1' } },
    },
    {
      label: 'Kubernetes semantics with a period; defaults timeout 1 s, thresholds 1/3',
      input: { httpGet: { path: '/ready', port: 'http1' }, periodSeconds: 2, initialDelaySeconds: 1 },
      want: {
        ...aggressiveTcp, kind: 'http', path: '/ready', initialDelayMs: 1000,
        startPeriodMs: 2000, startTimeoutMs: 1000, readyPeriodMs: 2000, readyTimeoutMs: 1000,
      },
    },
    {
      label: 'explicit timeout and thresholds, HTTPS',
      input: { httpGet: { scheme: 'HTTPS' }, periodSeconds: 5, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 1 },
      want: {
        ...aggressiveTcp, kind: 'http', scheme: 'https', startPeriodMs: 5000, startTimeoutMs: 3000,
        readyPeriodMs: 5000, readyTimeoutMs: 3000, successThreshold: 2, failureThreshold: 1,
      },
    },
    { label: 'numeric string equal to containerPort maps to PORT', input: { tcpSocket: { port: '8080' } }, want: aggressiveTcp },
    { label: 'another port is probed literally', input: { tcpSocket: { port: 9091, host: '127.0.0.2' } }, want: { ...aggressiveTcp, port: 9091, host: '127.0.0.2' } },
  ])('$label', ({ input, want }) => {
    expect(resolveProbe(input, 8080)).toEqual(want);
  });
});

describe('probeOnce', () => {
  const servers: { close: () => void }[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  async function httpServer(handler: Parameters<typeof createServer>[1]): Promise<number> {
    const s: Server = createServer(handler);
    servers.push({ close: () => s.close() });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as AddressInfo).port;
  }

  it('tcp: succeeds on a listening port, fails on a closed one', async () => {
    const s = createTcpServer((c) => c.destroy());
    servers.push({ close: () => s.close() });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    const plan = resolveProbe(undefined, 8080);
    expect(await probeOnce(plan, { host: '127.0.0.1', port }, 100, realClock)).toBe(true);
    s.close();
    expect(await probeOnce(plan, { host: '127.0.0.1', port }, 100, realClock)).toBe(false);
  });

  it.each([
    { label: '200 passes', input: 200, want: true },
    { label: '302 passes (200–399)', input: 302, want: true },
    { label: '404 fails', input: 404, want: false },
    { label: '503 fails', input: 503, want: false },
  ])('http: $label', async ({ input, want }) => {
    const port = await httpServer((_req, res) => {
      res.writeHead(input, { location: '/' });
      res.end();
    });
    const plan = resolveProbe({ httpGet: { path: '/ready' } }, 8080);
    expect(await probeOnce(plan, { host: '127.0.0.1', port }, 500, realClock)).toBe(want);
  });

  it('http: sends the path and httpHeaders', async () => {
    let seen: { url?: string; header?: string | string[] } = {};
    const port = await httpServer((req, res) => {
      seen = { url: req.url, header: req.headers['x-probe'] };
      res.end();
    });
    const plan = resolveProbe({ httpGet: { path: '/healthz', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } }, 8080);
    expect(await probeOnce(plan, { host: '127.0.0.1', port }, 500, realClock)).toBe(true);
    expect(seen).toEqual({ url: '/healthz', header: 'yes' });
  });

  it('http: a server that never answers fails after the timeout', async () => {
    const port = await httpServer(() => {});
    const plan = resolveProbe({ httpGet: {} }, 8080);
    const t0 = Date.now();
    expect(await probeOnce(plan, { host: '127.0.0.1', port }, 150, realClock)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });
});

describe('isSelfConnect', () => {
  const cases = [
    { label: 'a socket connected to itself', s: { localPort: 40000, remotePort: 40000, localAddress: '127.0.0.1', remoteAddress: '127.0.0.1' }, want: true },
    { label: 'a normal connection', s: { localPort: 51234, remotePort: 40000, localAddress: '127.0.0.1', remoteAddress: '127.0.0.1' }, want: false },
    { label: 'not connected', s: {}, want: false },
  ];
  for (const c of cases) it(c.label, () => expect(isSelfConnect(c.s)).toBe(c.want));
});

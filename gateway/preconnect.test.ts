import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { FakeClock, realClock } from '../core/clock.js';
import { waitFor } from '../test/support/wait.js';
import { Preconnector } from './preconnect.js';

const T = 10_000;

interface Upstream {
  server: Server;
  url: string;
  sockets: Socket[];
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** A real loopback server that counts the connections it accepts. */
async function upstream(): Promise<Upstream> {
  const sockets: Socket[] = [];
  const server = createServer((req, res) => res.end(`hello ${req.url}`));
  server.on('connection', (s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  closers.push(() => new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  }));
  return { server, url: `http://127.0.0.1:${port}`, sockets };
}

function agentWith(pre: Preconnector): Agent {
  const agent = new Agent({ connect: pre.connector });
  closers.push(() => agent.close());
  return agent;
}

describe('Preconnector (real loopback connections)', () => {
  it('the first request uses the connection opened before it, not a new one', async () => {
    const up = await upstream();
    const pre = new Preconnector(realClock);
    pre.open(up.url);
    pre.open(up.url); // one per origin
    await waitFor(() => up.sockets.length === 1, T, { message: 'the early connection accepted' });
    expect(pre.size()).toBe(1);
    const agent = agentWith(pre);
    const res = await agent.request({ origin: up.url, path: '/a', method: 'GET' });
    expect(await res.body.text()).toBe('hello /a');
    expect(up.sockets).toHaveLength(1);
    expect(pre.size()).toBe(0);
    pre.close();
  }, T);

  it('without a parked connection it connects as undici does', async () => {
    const up = await upstream();
    const pre = new Preconnector(realClock);
    const agent = agentWith(pre);
    const res = await agent.request({ origin: up.url, path: '/b', method: 'GET' });
    expect(await res.body.text()).toBe('hello /b');
    expect(up.sockets).toHaveLength(1);
    pre.close();
  }, T);

  it('an unused connection is closed after the TTL (FakeClock), and one the pod closed is forgotten', async () => {
    const up = await upstream();
    const clock = new FakeClock(0);
    const pre = new Preconnector(clock, 1_000);
    pre.open(up.url);
    await waitFor(() => up.sockets.length === 1, T, { message: 'accepted' });
    clock.advance(999);
    expect(pre.size()).toBe(1);
    clock.advance(1);
    expect(pre.size()).toBe(0);
    await waitFor(() => up.sockets[0]!.destroyed, T, { message: 'the server to see it closed' });

    pre.open(up.url);
    await waitFor(() => up.sockets.length === 2, T, { message: 'accepted again' });
    up.sockets[1]!.destroy();
    await waitFor(() => pre.size() === 0, T, { message: 'the closed connection forgotten' });
    // The next request still works, on a fresh connection.
    const res = await agentWith(pre).request({ origin: up.url, path: '/c', method: 'GET' });
    expect(await res.body.text()).toBe('hello /c');
    pre.close();
  }, T);

  it('the connection to a warm process (untilTaken) has no expiry until it is opened again for the pod, then the TTL applies', async () => {
    const up = await upstream();
    const clock = new FakeClock(0);
    const pre = new Preconnector(clock, 1_000);
    pre.open(up.url, { untilTaken: true });
    await waitFor(() => up.sockets.length === 1, T, { message: 'accepted' });
    clock.advance(60_000);
    expect(pre.size()).toBe(1);
    // The process became a pod (pod-listening): the same connection, now with the TTL.
    pre.open(up.url);
    expect(up.sockets).toHaveLength(1);
    clock.advance(999);
    expect(pre.size()).toBe(1);
    clock.advance(1);
    expect(pre.size()).toBe(0);
    await waitFor(() => up.sockets[0]!.destroyed, T, { message: 'the server to see it closed' });

    // Taken before that: the request goes on it, no second connection.
    pre.open(up.url, { untilTaken: true });
    await waitFor(() => up.sockets.length === 2, T, { message: 'accepted again' });
    const res = await agentWith(pre).request({ origin: up.url, path: '/d', method: 'GET' });
    expect(await res.body.text()).toBe('hello /d');
    expect(up.sockets).toHaveLength(2);
    expect(pre.size()).toBe(0);
    pre.close();
  }, T);

  it('close() ends parked connections and refuses new ones', async () => {
    const up = await upstream();
    const pre = new Preconnector(realClock);
    pre.open(up.url);
    await waitFor(() => up.sockets.length === 1, T, { message: 'accepted' });
    pre.close();
    expect(pre.size()).toBe(0);
    await waitFor(() => up.sockets[0]!.destroyed, T, { message: 'closed' });
    pre.open(up.url);
    expect(pre.size()).toBe(0);
    pre.open('not a url');
    expect(pre.size()).toBe(0);
  }, T);
});

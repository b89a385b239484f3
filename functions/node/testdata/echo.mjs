// Fetch handler: answers with what it saw, so tests can check the bridge.
export default async function (request) {
  const url = new URL(request.url);
  if (url.pathname === '/throw') throw new Error('boom from the handler');
  if (url.pathname === '/exit') process.exit(3);
  if (url.pathname === '/slow') console.log('slow: started');
  if (url.pathname === '/slow') await new Promise((r) => setTimeout(r, Number(url.searchParams.get('ms') ?? 300)));
  if (url.pathname === '/stream') {
    const enc = new TextEncoder();
    let i = 0;
    const body = new ReadableStream({
      pull(c) {
        if (i < 3) c.enqueue(enc.encode(`part${i++};`));
        else c.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/plain' } });
  }
  const headers = new Headers({ 'content-type': 'application/json' });
  headers.append('set-cookie', 'a=1');
  headers.append('set-cookie', 'b=2');
  return new Response(
    JSON.stringify({
      method: request.method,
      path: url.pathname + url.search,
      header: request.headers.get('x-test'),
      body: request.body ? await request.text() : null,
      pid: process.pid,
      revision: process.env.K_REVISION,
      secret: process.env.SECRET ?? null,
      leak: process.env.ZENO_TEST_LEAK ?? null,
      channelEnv: Object.keys(process.env).filter((k) => k.startsWith('NODE_CHANNEL')),
      env: { ...process.env },
      port: process.env.PORT ?? null,
      ipc: process.connected ?? false,
      cwd: process.cwd(),
      argv: process.argv.slice(2),
    }),
    { status: 200, headers },
  );
}

/**
 * An HTTP function: the default export is a web-standard fetch handler,
 * (request: Request) => Response. Zeno's Node runtime calls it per request.
 */
export default async function handler(request) {
  const greeting = process.env.GREETING ?? 'Hello';
  if (request.method === 'POST') {
    // JSON in, JSON out.
    const body = await request.json().catch(() => null);
    if (body === null) return Response.json({ error: 'send a JSON body' }, { status: 400 });
    return Response.json({ greeting, received: body });
  }
  const name = new URL(request.url).searchParams.get('name') ?? 'world';
  return new Response(`${greeting}, ${name}! ({{name}})\n`, {
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}

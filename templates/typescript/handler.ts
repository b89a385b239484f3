/**
 * An HTTP function in TypeScript: the default export is a web-standard fetch
 * handler. Zeno compiles this file with esbuild when it loads it.
 */
interface Greeting {
  greeting: string;
  name: string;
}

function greet(name: string): Greeting {
  return { greeting: process.env.GREETING ?? 'Hello', name };
}

export default async function handler(request: Request): Promise<Response> {
  const name = new URL(request.url).searchParams.get('name') ?? 'world';
  const g = greet(name);
  if ((request.headers.get('accept') ?? '').includes('application/json')) return Response.json(g);
  return new Response(`${g.greeting}, ${g.name}! ({{name}})\n`, {
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
}

// A handler whose import takes a while (top-level await): requests that
// arrive meanwhile must wait for it, and the pod is not ready before.
console.log('slow-load: importing');
await new Promise((r) => setTimeout(r, Number(process.env.LOAD_MS ?? 400)));
export default (request) => new Response(`loaded ${new URL(request.url).pathname} ${process.env.K_REVISION ?? ''}`);

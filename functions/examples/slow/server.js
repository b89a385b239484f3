// A function that takes its time: GET /?sleep=250 answers after 250 ms with
// {"slept":250}. Handy for testing concurrency, drain and timeouts.
import { createServer } from 'node:http';

const port = Number(process.env.PORT) || 8080;
const MAX_SLEEP_MS = 600_000;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const asked = Number(url.searchParams.get('sleep') ?? 0);
  const ms = Number.isFinite(asked) ? Math.min(Math.max(0, Math.floor(asked)), MAX_SLEEP_MS) : 0;
  setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify({ slept: ms })}\n`);
  }, ms);
});

server.listen(port, () => console.log(`slow: listening on ${port}`));

// SIGTERM: stop accepting, finish the requests still sleeping, then exit.
process.on('SIGTERM', () => server.close(() => process.exit(0)));

// The smallest Knative-style function: answers every request on $PORT.
import { createServer } from 'node:http';

const port = Number(process.env.PORT) || 8080;
const body = `Hello ${process.env.TARGET || 'World'}!\n`;

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
});

server.listen(port, () => console.log(`hello: listening on ${port}`));

// SIGTERM: stop accepting, let in-flight requests finish, then exit.
process.on('SIGTERM', () => server.close(() => process.exit(0)));

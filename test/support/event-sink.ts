/**
 * A CloudEvents subscriber on loopback that answers 202 and remembers the
 * `ce-id` of every event it got: `arrivals` in order (duplicates included),
 * `ids` the distinct ones. Fault and load tests use it to prove that every
 * accepted event arrived.
 */
import http from 'node:http';
import type net from 'node:net';

export class EventIdSink {
  readonly arrivals: string[] = [];
  readonly ids = new Set<string>();
  url = '';
  private server = http.createServer((req, res) => {
    const id = req.headers['ce-id'];
    req.resume();
    req.on('end', () => {
      if (typeof id === 'string') {
        this.arrivals.push(id);
        this.ids.add(id);
      }
      res.writeHead(202);
      res.end();
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A Broker `b` and a Trigger `t` on it that sends every event to `sinkUrl` (an EventIdSink's url). */
export const brokerWithTriggerYaml = (sinkUrl: string): string => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: b}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: t}
spec:
  broker: b
  subscriber: {uri: ${sinkUrl}/}
`;

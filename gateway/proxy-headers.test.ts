import { describe, expect, it } from 'vitest';
import { downstreamHeaders, downstreamRawHeaders } from './proxy-headers.js';

/** A response head as undici reads it: name, value, … as Buffers. */
const raw = (...pairs: string[]): Buffer[] => pairs.map((s) => Buffer.from(s, 'latin1'));

describe('downstreamRawHeaders', () => {
  const cases: { name: string; head: string[]; want: string[] }[] = [
    { name: 'keeps end-to-end fields, lower-cases names', head: ['Content-Type', 'text/plain', 'X-A', '1'], want: ['content-type', 'text/plain', 'x-a', '1'] },
    { name: 'drops the hop-by-hop set', head: ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'content-length', '3'], want: ['content-length', '3'] },
    { name: 'drops fields the Connection header names', head: ['connection', 'x-hop, close', 'x-hop', 'secret', 'x-end', 'kept'], want: ['x-end', 'kept'] },
    { name: 'joins repeated Connection headers before reading tokens', head: ['connection', 'x-a', 'Connection', 'X-B', 'x-a', '1', 'x-b', '2', 'x-c', '3'], want: ['x-c', '3'] },
    { name: 'keeps a repeated field as separate lines', head: ['set-cookie', 'a=1', 'Set-Cookie', 'b=2'], want: ['set-cookie', 'a=1', 'set-cookie', 'b=2'] },
    { name: 'keeps latin1 bytes of values as they came', head: ['x-bytes', '\u00e9\u00ff'], want: ['x-bytes', '\u00e9\u00ff'] },
    { name: 'an empty head', head: [], want: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(downstreamRawHeaders(raw(...c.head))).toEqual(c.want);
    });
  }

  it('agrees with downstreamHeaders on single-valued heads', () => {
    const head = ['Content-Type', 'a/b', 'Connection', 'keep-alive, X-Drop', 'x-drop', '1', 'Date', 'now', 'proxy-authenticate', 'x'];
    const flat = downstreamRawHeaders(raw(...head));
    const obj: Record<string, string> = {};
    for (let i = 0; i < head.length; i += 2) obj[head[i]!.toLowerCase()] = head[i + 1]!;
    expect(Object.fromEntries(flat.flatMap((v, i) => (i % 2 ? [] : [[v, flat[i + 1]]])))).toEqual(downstreamHeaders(obj));
  });
});

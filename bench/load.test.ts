import { describe, expect, it } from 'vitest';
import { parseWrk } from './load.js';

const REPORT = (p50: string, p99: string, extra = '') => `Running 10s test @ http://127.0.0.1:41999/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   372.75us  746.55us  10.32ms   94.38%
    Req/Sec    17.37k     8.92k   30.56k    70.00%
  Latency Distribution
     50%  ${p50}
     75%  315.00us
     90%  594.00us
     99%  ${p99}
  17288 requests in 1.00s, 3.21MB read
${extra}Requests/sec:  17276.04
Transfer/sec:      3.21MB
`;

describe('parseWrk', () => {
  it.each([
    { label: 'us and ms', input: REPORT('198.00us', '3.86ms'), want: { rps: 17276.04, p50Ms: 0.198, p99Ms: 3.86, requests: 17288, errors: 0, non2xx: 0 } },
    { label: 'seconds', input: REPORT('1.50ms', '1.20s'), want: { rps: 17276.04, p50Ms: 1.5, p99Ms: 1200, requests: 17288, errors: 0, non2xx: 0 } },
    {
      label: 'error lines are added up',
      input: REPORT('1.00ms', '2.00ms', '  Socket errors: connect 1, read 2, write 3, timeout 4\n  Non-2xx or 3xx responses: 7\n'),
      want: { rps: 17276.04, p50Ms: 1, p99Ms: 2, requests: 17288, errors: 10, non2xx: 7 },
    },
  ])('$label', ({ input, want }) => {
    const got = parseWrk(input);
    expect({ ...got, p50Ms: Number(got.p50Ms.toFixed(6)), p99Ms: Number(got.p99Ms.toFixed(6)) }).toEqual(want);
  });

  it('rejects output without a latency distribution (wrk run without --latency)', () => {
    expect(() => parseWrk('Requests/sec:  1.0\n')).toThrow(/unexpected output/);
  });
});

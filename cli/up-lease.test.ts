import { describe, expect, it } from 'vitest';
import { UsageError } from './args.js';
import { parseLeaseRef } from './up.js';

describe('parseLeaseRef (zeno up --lease)', () => {
  it.each<[string, ReturnType<typeof parseLeaseRef>]>([
    ['zeno-system/zeno-controller', { namespace: 'zeno-system', name: 'zeno-controller' }],
    ['zeno-controller', { name: 'zeno-controller' }],
    ['ns/a.b-c', { namespace: 'ns', name: 'a.b-c' }],
  ])('%s', (text, want) => expect(parseLeaseRef(text)).toEqual(want));

  it.each(['', '/x', 'ns/', 'a/b/c', 'Zeno/x', 'ns/UPPER', 'n.s/x', '-ns/x', 'ns/-x'])('refuses %j with a usage error', (text) => {
    expect(() => parseLeaseRef(text)).toThrow(UsageError);
  });
});

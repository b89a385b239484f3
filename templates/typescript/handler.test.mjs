// `npm test` compiles handler.ts to .build/handler.mjs with esbuild, then runs node --test
// (Node 20 cannot import .ts files itself).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import handler from './.build/handler.mjs';

test('GET greets by name in text', async () => {
  const res = await handler(new Request('http://localhost/?name=Ada'));
  assert.equal(res.status, 200);
  assert.match(await res.text(), /, Ada! \({{name}}\)/);
});

test('answers JSON when asked', async () => {
  const res = await handler(new Request('http://localhost/?name=Ada', { headers: { accept: 'application/json' } }));
  assert.equal((await res.json()).name, 'Ada');
});

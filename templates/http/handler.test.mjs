// Run with `npm test` (node --test): the handler is a plain function of a Request.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import handler from './handler.mjs';

test('GET greets by name', async () => {
  const res = await handler(new Request('http://localhost/?name=Ada'));
  assert.equal(res.status, 200);
  assert.match(await res.text(), /, Ada! \({{name}}\)/);
});

test('POST answers JSON with what it received', async () => {
  const res = await handler(new Request('http://localhost/', { method: 'POST', body: JSON.stringify({ a: 1 }) }));
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).received, { a: 1 });
});

test('POST without JSON is a 400', async () => {
  const res = await handler(new Request('http://localhost/', { method: 'POST', body: 'not json' }));
  assert.equal(res.status, 400);
});

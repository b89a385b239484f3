// Run with `npm test` (node --test): the handler is a plain method of an event.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import handler from './handler.mjs';

test('answers an event with a reply event', async () => {
  const event = { specversion: '1.0', id: 'e-1', source: '/test', type: 'dev.example.ping', data: { n: 1 } };
  const reply = await handler.cloudevent(event);
  assert.equal(reply.source, '/functions/{{name}}');
  assert.match(reply.type, /\.reply$/);
  assert.deepEqual(reply.data, { receivedType: 'dev.example.ping', receivedId: 'e-1', data: { n: 1 } });
});

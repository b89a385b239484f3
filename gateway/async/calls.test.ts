import { describe, expect, it } from 'vitest';
import { ZenoError } from '../../core/errors.js';
import {
  callbackHeaders, callToEvent, cancelToEvent, eventToCall, eventToCancel, parseAsyncPath, parseCallbackUrl, parseCancelPath, recordedHeaders, streamKey,
  type AsyncCall,
} from './calls.js';

describe('parseAsyncPath', () => {
  const cases: { url: string; want: ReturnType<typeof parseAsyncPath> }[] = [
    { url: '/async-function/hello', want: { name: 'hello', namespace: 'default', label: 'hello', path: '/', query: '' } },
    { url: '/async-function/hello/', want: { name: 'hello', namespace: 'default', label: 'hello', path: '/', query: '' } },
    { url: '/async-function/hello.team-a/a/b?x=1&y=%20', want: { name: 'hello', namespace: 'team-a', label: 'hello.team-a', path: '/a/b', query: '?x=1&y=%20' } },
    { url: '/async-function/hello?x=1', want: { name: 'hello', namespace: 'default', label: 'hello', path: '/', query: '?x=1' } },
    { url: '/async-function/', want: undefined },
    { url: '/async-function/.ns/x', want: undefined },
    { url: '/async-function/name./x', want: undefined },
    { url: '/function/hello', want: undefined },
  ];
  it.each(cases)('$url', ({ url, want }) => {
    expect(parseAsyncPath(url)).toEqual(want);
  });
});

describe('parseCancelPath', () => {
  const cases: { url: string; want: ReturnType<typeof parseCancelPath> }[] = [
    { url: '/async-function/0b7e-11', want: { callId: '0b7e-11' } },
    { url: '/async-function/0b7e-11/', want: { callId: '0b7e-11' } },
    { url: '/async-function/0b7e-11?x=1', want: { callId: '0b7e-11' } },
    { url: '/async-function/sleep/0b7e-11', want: { callId: '0b7e-11', fn: { name: 'sleep', namespace: 'default' } } },
    { url: '/async-function/sleep.team-a/0b7e-11', want: { callId: '0b7e-11', fn: { name: 'sleep', namespace: 'team-a' } } },
    { url: '/async-function/', want: undefined },
    { url: '/async-function/a/b/c', want: undefined },
    { url: '/async-function//x', want: undefined },
  ];
  it.each(cases)('$url', ({ url, want }) => {
    expect(parseCancelPath(url)).toEqual(want);
  });
});

describe('parseCallbackUrl', () => {
  it.each([
    [undefined, undefined],
    ['http://127.0.0.1:9000/done', 'http://127.0.0.1:9000/done'],
    ['https://example.com/a?b=1', 'https://example.com/a?b=1'],
    [' http://example.com ', 'http://example.com/'],
  ])('accepts %j', (input, want) => {
    expect(parseCallbackUrl(input)).toBe(want);
  });
  it.each([['not a url'], ['/relative'], ['ftp://example.com/'], ['file:///etc/passwd'], ['http://u:p@example.com/'], [['http://a/', 'http://b/']]])('refuses %j with a code', (input) => {
    const r = parseCallbackUrl(input);
    expect(r).toBeInstanceOf(ZenoError);
    expect((r as ZenoError).code).toBe('ZENO_ERR_INVALID_CALLBACK_URL');
    expect((r as ZenoError).statusCode).toBe(400);
  });
});

describe('recordedHeaders', () => {
  it('drops hop-by-hop, Host, Content-Length, Expect and a caller X-Call-Id; keeps repeated values', () => {
    const got = recordedHeaders({
      host: 'gw:8080', 'content-length': '5', expect: '100-continue', connection: 'keep-alive, x-hop', 'x-hop': '1',
      'transfer-encoding': 'chunked', 'x-call-id': 'caller-chosen', 'content-type': 'text/plain', 'x-callback-url': 'http://cb/',
      'set-cookie': ['a=1', 'b=2'],
    }, 'id-1');
    expect(got).toEqual([
      ['content-type', 'text/plain'], ['x-callback-url', 'http://cb/'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-call-id', 'id-1'],
    ]);
  });
});

describe('call records', () => {
  const call: AsyncCall = {
    id: 'c1', name: 'fn', namespace: 'ns', label: 'fn.ns', method: 'POST', path: '/a b', query: '?q=1',
    headers: [['content-type', 'application/octet-stream'], ['x-call-id', 'c1']], body: new Uint8Array([0, 255, 10]),
    callbackUrl: 'http://cb/', acceptedAt: 1_700_000_000_000,
  };
  it('round-trip through a CloudEvent, body as bytes', () => {
    const e = callToEvent(call);
    expect(e.attributes).toMatchObject({ specversion: '1.0', id: 'c1', type: 'dev.zeno.async.call', source: '/async-function/fn.ns' });
    expect(eventToCall(e)).toEqual(call);
    const { callbackUrl: _omit, ...without } = call;
    expect(eventToCall(callToEvent(without))).toEqual(without);
  });
  it('refuses a record without its attributes', () => {
    expect(() => eventToCall({ attributes: { id: 'x' } })).toThrow(/attribute \w+ missing/);
  });
  it('cancel records round-trip', () => {
    expect(eventToCancel(cancelToEvent({ callId: 'c1', stream: streamKey('ns', 'fn'), seq: 7 }))).toEqual({ callId: 'c1', stream: 'async:ns/fn', seq: 7 });
    expect(eventToCancel({ attributes: { id: 'x' } })).toBeUndefined();
  });
});

describe('callbackHeaders', () => {
  const cases: { label: string; result: Parameters<typeof callbackHeaders>[1]; want: Record<string, string | string[]> }[] = [
    {
      label: "the function's headers plus the four OpenFaaS ones",
      result: { status: 201, headers: { 'Content-Type': 'application/json', 'x-fn': 'a', 'content-length': '9', connection: 'close' }, body: new Uint8Array(), durationMs: 1_234.5678 },
      want: { 'content-type': 'application/json', 'x-fn': 'a', 'x-duration-seconds': '1.234568', 'x-function-status': '201', 'x-function-name': 'fn.ns', 'x-call-id': 'c1' },
    },
    {
      label: "keeps the function's own X-Duration-Seconds (OpenFaaS does)",
      result: { status: 200, headers: { 'x-duration-seconds': '9.5' }, body: new Uint8Array(), durationMs: 10 },
      want: { 'x-duration-seconds': '9.5', 'x-function-status': '200', 'x-function-name': 'fn.ns', 'x-call-id': 'c1' },
    },
    {
      label: 'no response: 503 and no function headers',
      result: { status: 503, headers: {}, body: new Uint8Array(), durationMs: 0 },
      want: { 'x-duration-seconds': '0.000000', 'x-function-status': '503', 'x-function-name': 'fn.ns', 'x-call-id': 'c1' },
    },
    {
      label: 'the function cannot forge the call id, status or name',
      result: { status: 500, headers: { 'x-call-id': 'forged', 'x-function-status': '200', 'x-function-name': 'other', 'transfer-encoding': 'chunked' }, body: new Uint8Array(), durationMs: 1 },
      want: { 'x-duration-seconds': '0.001000', 'x-function-status': '500', 'x-function-name': 'fn.ns', 'x-call-id': 'c1' },
    },
  ];
  it.each(cases)('$label', ({ result, want }) => {
    expect(callbackHeaders({ id: 'c1', label: 'fn.ns' }, result)).toEqual(want);
  });
});

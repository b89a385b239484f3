import { describe, expect, it } from 'vitest';
import { UsageError } from './args.js';
import { buildInvokeRequest, failureLine, formatLogLine } from './invoke.js';

const enc = (s: string) => ({ bytes: new TextEncoder().encode(s), fromFile: false });
const base = { gatewayUrl: 'http://127.0.0.1:8080/', name: 'hello', namespace: 'default', headers: [] as string[] };

describe('buildInvokeRequest', () => {
  const cases: { label: string; input: Parameters<typeof buildInvokeRequest>[0]; want: { url: string; method: string; headers: Record<string, string> } }[] = [
    { label: 'GET without data, at the root', input: base, want: { url: 'http://127.0.0.1:8080/function/hello.default/', method: 'GET', headers: {} } },
    { label: 'a path without a leading slash, and a namespace', input: { ...base, namespace: 'team-a', path: 'greet?name=ada' }, want: { url: 'http://127.0.0.1:8080/function/hello.team-a/greet?name=ada', method: 'GET', headers: {} } },
    { label: 'POST with JSON data', input: { ...base, body: enc(' {"a":1}') }, want: { url: 'http://127.0.0.1:8080/function/hello.default/', method: 'POST', headers: { 'content-type': 'application/json' } } },
    { label: 'POST with text data', input: { ...base, body: enc('{not json') }, want: { url: 'http://127.0.0.1:8080/function/hello.default/', method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' } } },
    { label: 'a file that is not JSON', input: { ...base, body: { bytes: new Uint8Array([0xff, 0x00]), fromFile: true } }, want: { url: 'http://127.0.0.1:8080/function/hello.default/', method: 'POST', headers: { 'content-type': 'application/octet-stream' } } },
    { label: '--async: POST to /async-function/ even without data', input: { ...base, async: true, path: '/run?x=1' }, want: { url: 'http://127.0.0.1:8080/async-function/hello.default/run?x=1', method: 'POST', headers: {} } },
    { label: '--async --callback sets X-Callback-Url', input: { ...base, async: true, callbackUrl: 'http://127.0.0.1:9000/done' }, want: { url: 'http://127.0.0.1:8080/async-function/hello.default/', method: 'POST', headers: { 'x-callback-url': 'http://127.0.0.1:9000/done' } } },
    { label: '-X and -H win', input: { ...base, method: 'put', headers: ['Content-Type: text/csv', 'X-Id: 7'], body: enc('{}') }, want: { url: 'http://127.0.0.1:8080/function/hello.default/', method: 'PUT', headers: { 'content-type': 'text/csv', 'x-id': '7' } } },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    const got = buildInvokeRequest(input);
    expect({ url: got.url, method: got.method, headers: got.headers }).toEqual(want);
    expect(got.body === undefined).toBe(input.body === undefined);
  });

  it('rejects a malformed -H', () => {
    expect(() => buildInvokeRequest({ ...base, headers: ['nocolon'] })).toThrow(UsageError);
  });

  it('refuses --callback without --async, and --async with another method', () => {
    expect(() => buildInvokeRequest({ ...base, callbackUrl: 'http://127.0.0.1:9000/' })).toThrow(/--callback needs --async/);
    expect(() => buildInvokeRequest({ ...base, async: true, method: 'GET' })).toThrow(/--async sends POST/);
    expect(buildInvokeRequest({ ...base, async: true, method: 'post' }).method).toBe('POST');
  });
});

describe('failureLine', () => {
  const cases: { label: string; input: [number, string, string]; want: ReturnType<typeof failureLine> }[] = [
    { label: "the platform's error", input: [503, 'Service Unavailable', '{"statusCode":503,"code":"ZENO_ERR_NO_READY_REVISION","error":"Service Unavailable","message":"The route has no ready revision yet"}'], want: { line: 'HTTP 503: ZENO_ERR_NO_READY_REVISION: The route has no ready revision yet (see why with "zeno describe ksvc NAME" and "zeno logs NAME")', platformError: true } },
    { label: "the function's own error", input: [400, 'Bad Request', 'name is required'], want: { line: 'HTTP 400 Bad Request', platformError: false } },
    { label: 'JSON without code', input: [500, '', '{"error":"boom"}'], want: { line: 'HTTP 500', platformError: false } },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    expect(failureLine(...input)).toEqual(want);
  });

  it('names the function and its namespace in the hint', () => {
    const body = '{"code":"ZENO_ERR_REVISION_FAILED","message":"revision default/x-00001 cannot start"}';
    expect(failureLine(503, '', body, { name: 'x', namespace: 'team-a' }).line).toBe(
      'HTTP 503: ZENO_ERR_REVISION_FAILED: revision default/x-00001 cannot start (see why with "zeno describe ksvc x -n team-a" and "zeno logs x -n team-a")',
    );
    expect(failureLine(404, '', '{"code":"ZENO_ERR_FUNCTION_NOT_FOUND","message":"No function is routed at this host or path"}').line).toContain('list the services with "zeno get ksvc -A"');
  });
});

describe('formatLogLine', () => {
  it('prefixes the pod', () => {
    expect(formatLogLine({ pod: 'hello-00001-ab12', line: 'listening on 8080' })).toBe('[hello-00001-ab12] listening on 8080');
    expect(formatLogLine({ line: 'raw' })).toBe('raw');
  });
});

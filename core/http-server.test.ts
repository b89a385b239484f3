import { describe, expect, it } from 'vitest';
import { PLATFORM_DEFAULTS } from './config/platform.js';
import { PassThrough } from 'node:stream';
import { FakeClock } from './clock.js';
import { CLIENT_ERROR_LINGER_MS, DEFAULT_HTTP_LIMITS, absoluteTarget, clientErrorAnswer, clientErrorListener, serverOptions } from './http-server.js';

describe('absoluteTarget (RFC 9112 §3.2.2 absolute-form)', () => {
  it.each([
    { url: 'http://evil/', want: { host: 'evil', path: '/' } },
    { url: 'http://echo.default.localhost:8080/a/b?x=1', want: { host: 'echo.default.localhost:8080', path: '/a/b?x=1' } },
    { url: 'HTTPS://Echo.default.localhost', want: { host: 'echo.default.localhost', path: '/' } },
    { url: 'http://h?q=1', want: { host: 'h', path: '/?q=1' } },
    // Dot segments are kept as sent: routing sees the same path a pod would.
    { url: 'http://h/function/../admin', want: { host: 'h', path: '/function/../admin' } },
    { url: 'http://127.0.0.1:8081/apis', want: { host: '127.0.0.1:8081', path: '/apis' } },
  ])('$url', ({ url, want }) => {
    expect(absoluteTarget(url)).toEqual(want);
  });
  it.each(['*', 'example.com:443', 'ftp://h/', 'http://', 'http://user:pw@h/', 'javascript:alert(1)', '', '..', 'http//h/'])('refuses %j', (url) => {
    expect(absoluteTarget(url)).toBeUndefined();
  });
});

describe('clientErrorAnswer', () => {
  it.each([
    { code: 'HPE_HEADER_OVERFLOW', want: [431, 'ZENO_ERR_HEADERS_TOO_LARGE'] },
    { code: 'ERR_HTTP_REQUEST_TIMEOUT', want: [408, 'ZENO_ERR_CLIENT_TIMEOUT'] },
    { code: 'HPE_INVALID_CHUNK_SIZE', want: [400, 'ZENO_ERR_BAD_REQUEST'] },
    { code: 'HPE_UNEXPECTED_CONTENT_LENGTH', want: [400, 'ZENO_ERR_BAD_REQUEST'] },
    { code: undefined, want: [400, 'ZENO_ERR_BAD_REQUEST'] },
  ])('$code', ({ code, want }) => {
    const e = Object.assign(new Error('x'), code ? { code } : {}) as NodeJS.ErrnoException;
    const a = clientErrorAnswer(e);
    expect([a.status, a.code]).toEqual(want);
  });
});

describe('serverOptions', () => {
  it('takes the defaults from PLATFORM_DEFAULTS', () => {
    const o = serverOptions(DEFAULT_HTTP_LIMITS);
    expect(o).toMatchObject({
      maxHeaderSize: PLATFORM_DEFAULTS.maxHeaderBytes,
      headersTimeout: PLATFORM_DEFAULTS.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: PLATFORM_DEFAULTS.keepAliveTimeoutMs,
      requireHostHeader: false,
    });
  });
  it('keeps requestTimeout ≥ headersTimeout (Node requires it) and checks at least as often as the headers timeout', () => {
    const o = serverOptions({ ...DEFAULT_HTTP_LIMITS, headersTimeoutMs: 500, requestTimeoutMs: 100, connectionsCheckingIntervalMs: 30_000 });
    expect([o.requestTimeout, o.connectionsCheckingInterval]).toEqual([500, 500]);
  });
});

describe('clientErrorListener', () => {
  it('answers with the JSON body, half-closes, and destroys a socket that is still open after the linger', () => {
    const clock = new FakeClock();
    const socket = new PassThrough();
    let written = '';
    socket.on('data', (c: Buffer) => (written += c.toString()));
    clientErrorListener(clock)(Object.assign(new Error('x'), { code: 'HPE_HEADER_OVERFLOW' }), socket);
    expect(written).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(written).toContain('"code":"ZENO_ERR_HEADERS_TOO_LARGE"');
    expect(socket.destroyed).toBe(false);
    clock.advance(CLIENT_ERROR_LINGER_MS - 1);
    expect(socket.destroyed).toBe(false);
    clock.advance(1);
    expect(socket.destroyed).toBe(true);
  });
  it('destroys at once on a reset', () => {
    const socket = new PassThrough();
    clientErrorListener(new FakeClock())(Object.assign(new Error('x'), { code: 'ECONNRESET' }), socket);
    expect(socket.destroyed).toBe(true);
  });
});

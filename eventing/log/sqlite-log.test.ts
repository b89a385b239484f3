import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { runEventLogContract } from './contract.js';
import { decodeEvent, encodeEvent, openSqliteEventLog, storageError } from './sqlite-log.js';
import { ZenoError } from '../../core/errors.js';

const here = dirname(fileURLToPath(import.meta.url));

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'zeno-eventlog-'));
}

runEventLogContract('sqlite', async () => {
  const dir = tempDir();
  const file = join(dir, 'events.db');
  return {
    open: (clock) => openSqliteEventLog(file, { clock }),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('sqlite event log', () => {
  it('releases leases left by a killed owner as soon as the file is reopened', async () => {
    const dir = tempDir();
    const file = join(dir, 'events.db');
    const clock = new FakeClock();
    const first = openSqliteEventLog(file, { clock });
    await first.addConsumer('ns/b', 't', { maxInFlight: 10, leaseMs: 60_000 });
    const seq = await first.append('ns/b', { attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' } });
    expect((await first.fetch('t', 10)).map((e) => e.seq)).toEqual([seq]);
    // A second opener while the first never closed stands in for a restart
    // after SIGKILL: no clean shutdown ran, and the lease is still on disk.
    const second = openSqliteEventLog(file, { clock });
    const again = await second.fetch('t', 10);
    expect(again.map((e) => [e.seq, e.attempt])).toEqual([[seq, 2]]);
    await second.close();
    await first.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits the acks and nacks of one turn together, and a fetch sees them before they resolve', async () => {
    const dir = tempDir();
    const clock = new FakeClock();
    const log = openSqliteEventLog(join(dir, 'events.db'), { clock });
    await log.addConsumer('ns/b', 't', { maxInFlight: 50, leaseMs: 60_000 });
    const ev = (i: number) => ({ attributes: { specversion: '1.0', id: `e${i}`, source: '/s', type: 't' } });
    const seqs = await Promise.all(Array.from({ length: 60 }, (_, i) => log.append('ns/b', ev(i))));
    const leased = await log.fetch('t', 100);
    expect(leased.map((e) => e.seq)).toEqual(seqs.slice(0, 50));
    const retryAt = clock.now() + 1_000;
    // Not awaited: the fetch below must already see 40 acks' worth of room.
    const settling = [
      ...leased.slice(0, 10).map((e) => log.nack('t', e.seq, retryAt)),
      ...leased.slice(10).map((e) => log.ack('t', e.seq)),
    ];
    const next = await log.fetch('t', 100);
    expect(next.map((e) => e.seq)).toEqual(seqs.slice(50));
    await Promise.all(settling);
    expect(await log.info('t')).toMatchObject({ outstanding: 20, ackFloor: seqs[0]! - 1, backlog: 0 });
    clock.advance(1_000);
    const retried = await log.fetch('t', 100);
    expect(retried.map((e) => [e.seq, e.attempt])).toEqual(seqs.slice(0, 10).map((s) => [s, 2]));
    await Promise.all([...retried, ...next].map((e) => log.ack('t', e.seq)));
    expect(await log.info('t')).toMatchObject({ outstanding: 0, ackFloor: seqs[59] });
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts each ack of one turn once, whatever nacks of the same events came with it', async () => {
    const dir = tempDir();
    const clock = new FakeClock();
    const log = openSqliteEventLog(join(dir, 'events.db'), { clock });
    await log.addConsumer('ns/b', 't', { maxInFlight: 50, leaseMs: 60_000 });
    await log.addConsumer('ns/b', 'u', { maxInFlight: 50, leaseMs: 60_000 });
    const ev = (i: number) => ({ attributes: { specversion: '1.0', id: `e${i}`, source: '/s', type: 't' } });
    const s = await Promise.all(Array.from({ length: 6 }, (_, i) => log.append('ns/b', ev(i))));
    expect((await log.fetch('t', 10)).map((e) => e.seq)).toEqual(s);
    expect((await log.fetch('u', 10)).map((e) => e.seq)).toEqual(s);
    const retryAt = clock.now() + 1_000;
    // One turn: a duplicate ack, an ack after a nack of the same event (acked),
    // a nack after an ack (stays acked), an ack of an event never leased, and
    // another consumer's acks of the same events beside them.
    await Promise.all([
      log.ack('t', s[0]!), log.ack('t', s[0]!), log.ack('u', s[0]!), log.ack('t', s[2]!),
      log.nack('t', s[1]!, retryAt), log.ack('t', s[1]!),
      log.ack('t', s[3]!), log.nack('t', s[3]!, retryAt), log.ack('u', s[3]!),
      log.ack('t', s[5]! + 100),
    ]);
    expect(await log.info('t')).toMatchObject({ outstanding: 2, ackFloor: s[3] });
    expect(await log.info('u')).toMatchObject({ outstanding: 4, ackFloor: s[0] });
    clock.advance(1_000);
    expect(await log.fetch('t', 10)).toEqual([]);
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the bodies of events it did not append itself (another process, or long ago) from the file', async () => {
    const dir = tempDir();
    const file = join(dir, 'events.db');
    const first = openSqliteEventLog(file, { clock: new FakeClock() });
    const ev = (i: number) => ({ attributes: { specversion: '1.0', id: `e${i}`, source: '/s', type: 't' }, data: { i, b: new Array(i % 3).fill('x') } });
    const seqs = await Promise.all(Array.from({ length: 1100 }, (_, i) => first.append('ns/b', ev(i))));
    await first.close();
    const second = openSqliteEventLog(file, { clock: new FakeClock() });
    await second.addConsumer('ns/b', 't', { maxInFlight: 2000, leaseMs: 60_000, fromStart: true });
    const got = await second.fetch('t', 2000);
    expect(got.map((e) => e.seq)).toEqual(seqs);
    expect(got.map((e) => e.event)).toEqual(Array.from({ length: 1100 }, (_, i) => ev(i)));
    expect(await second.info('t')).toMatchObject({ outstanding: 1100 });
    await second.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves an append only after an fsync that started after its commit, and fetches see it before', async () => {
    const dir = tempDir();
    const syncs: ((err: NodeJS.ErrnoException | null) => void)[] = [];
    const log = openSqliteEventLog(join(dir, 'events.db'), { clock: new FakeClock(), fsync: (_fd, done) => syncs.push(done) });
    await log.addConsumer('ns/b', 't', { maxInFlight: 10, leaseMs: 60_000 });
    const ev = (id: string) => ({ attributes: { specversion: '1.0', id, source: '/s', type: 't' } });
    const settled: string[] = [];
    const heard: number[] = [];
    log.onAppend('ns/b', (seq) => heard.push(seq));
    const a = log.append('ns/b', ev('a')).then((seq) => (settled.push('a'), seq));
    await new Promise((r) => setImmediate(r));
    expect(syncs).toHaveLength(1);
    // Committed but not yet synced: visible to fetches and listeners, not resolved.
    expect((await log.fetch('t', 10)).map((e) => e.event.attributes.id)).toEqual(['a']);
    expect(heard).toHaveLength(1);
    const b = log.append('ns/b', ev('b')).then((seq) => (settled.push('b'), seq));
    await new Promise((r) => setImmediate(r));
    // b committed while a's fsync runs: it waits for the next one.
    expect(syncs).toHaveLength(1);
    expect(settled).toEqual([]);
    syncs[0]!(null);
    await a;
    expect(settled).toEqual(['a']);
    expect(syncs).toHaveLength(2);
    syncs[1]!(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await expect(b).rejects.toMatchObject({ code: 'ZENO_ERR_INTERNAL' });
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an ack for an unknown consumer without failing the acks committed with it', async () => {
    const dir = tempDir();
    const log = openSqliteEventLog(join(dir, 'events.db'), { clock: new FakeClock() });
    await log.addConsumer('ns/b', 't', { maxInFlight: 10, leaseMs: 60_000 });
    const seq = await log.append('ns/b', { attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' } });
    await log.fetch('t', 10);
    const [bad, good] = await Promise.allSettled([log.ack('nobody', seq), log.ack('t', seq)]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'ZENO_ERR_INTERNAL' } });
    expect(good.status).toBe('fulfilled');
    expect(await log.info('t')).toMatchObject({ outstanding: 0, ackFloor: seq });
    await log.close();
    await expect(log.ack('t', seq)).rejects.toMatchObject({ code: 'ZENO_ERR_SHUTTING_DOWN' });
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every append that resolved before the appending process was SIGKILLed', async () => {
    const dir = tempDir();
    const file = join(dir, 'events.db');
    // Bundle the TypeScript child into one CommonJS file; better-sqlite3
    // stays external and resolves through NODE_PATH (CommonJS honours it).
    const esbuild = await import('esbuild');
    const script = join(dir, 'append-child.cjs');
    await esbuild.build({
      entryPoints: [join(here, 'fixtures', 'append-child.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: script,
      packages: 'external',
      logLevel: 'silent',
    });
    const child = spawn(process.execPath, [script, file, '1000000'], {
      env: { ...process.env, NODE_PATH: resolve(here, '../../node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const printed = new Map<number, string>();
    let partial = '';
    // 'close' fires after stdout has drained: lines already in the pipe when
    // the kill landed were acknowledged appends too, and are checked.
    const killed = new Promise<void>((done) => child.on('close', () => done()));
    const target = 2000;
    await new Promise<void>((done, fail) => {
      const deadline = setTimeout(() => fail(new Error(`child printed ${printed.size} appends in 20 s: ${stderr}`)), 20_000);
      child.stdout.on('data', (b: Buffer) => {
        const lines = (partial + b.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const [seq, id] = line.split(' ');
          printed.set(Number(seq), id!);
        }
        if (printed.size >= target && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
          clearTimeout(deadline);
          done();
        }
      });
    });
    await killed;
    expect(child.signalCode).toBe('SIGKILL');

    const log = openSqliteEventLog(file, { clock: new FakeClock() });
    await log.addConsumer('default/default', 'check', { maxInFlight: 1000, leaseMs: 60_000, fromStart: true });
    const found = new Map<number, string>();
    for (;;) {
      const batch = await log.fetch('check', 1000);
      if (batch.length === 0) break;
      for (const e of batch) {
        found.set(e.seq, String(e.event.attributes.id));
        await log.ack('check', e.seq);
      }
    }
    await log.close();
    const missing = [...printed].filter(([seq, id]) => found.get(seq) !== id);
    expect(missing).toEqual([]);
    // The kill came mid-stream: the child had a million appends to go.
    expect(found.size).toBeLessThan(1_000_000);
    expect(printed.size).toBeGreaterThanOrEqual(target);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('storageError: a failed commit as the producer sees it', () => {
  const sqlite = (code: string) => Object.assign(new Error(`sqlite says ${code}`), { code });
  it.each([
    ['SQLITE_FULL', 'ZENO_ERR_STORAGE_FULL', 507],
    ['SQLITE_READONLY', 'ZENO_ERR_STORAGE_UNAVAILABLE', 503],
    ['SQLITE_READONLY_DBMOVED', 'ZENO_ERR_STORAGE_UNAVAILABLE', 503],
    ['SQLITE_IOERR_WRITE', 'ZENO_ERR_STORAGE_UNAVAILABLE', 503],
    ['SQLITE_IOERR_FSYNC', 'ZENO_ERR_STORAGE_UNAVAILABLE', 503],
    ['SQLITE_CANTOPEN', 'ZENO_ERR_STORAGE_UNAVAILABLE', 503],
  ])('%s → %s (%d, Retry-After)', (code, zeno, status) => {
    const e = storageError(sqlite(code));
    expect(e).toBeInstanceOf(ZenoError);
    expect((e as ZenoError).code).toBe(zeno);
    expect((e as ZenoError).statusCode).toBe(status);
    expect((e as ZenoError).retryAfter).toBeGreaterThan(0);
  });
  it.each([['SQLITE_CONSTRAINT'], ['SQLITE_BUSY']])('%s passes as it is', (code) => {
    const err = sqlite(code);
    expect(storageError(err)).toBe(err);
  });
  it('passes errors without a code as they are', () => {
    const err = new Error('x');
    expect(storageError(err)).toBe(err);
  });
});

describe('encodeEvent', () => {
  const attributes = { specversion: '1.0', id: 'e1', source: '/s', type: 't', knativebrokerttl: 254 };
  const cases: { label: string; data: unknown; attrs?: Record<string, string | number | boolean> }[] = [
    { label: 'no data', data: undefined },
    { label: 'object', data: { a: [1, { b: null }], 'c"d': 'é\n' } },
    { label: 'array', data: [1, 'two', false] },
    { label: 'string', data: 'he said "hi"' },
    { label: 'zero', data: 0 },
    { label: 'false', data: false },
    { label: 'null', data: null },
    { label: 'a value with toJSON', data: new Date(Date.UTC(2026, 0, 2)) },
    { label: 'a value JSON cannot hold', data: () => 1 },
    { label: 'no attributes at all', data: { a: 1 }, attrs: {} },
  ];
  for (const c of cases) {
    it(`is the JSON of the attributes with data last: ${c.label}`, () => {
      const attrs = c.attrs ?? attributes;
      const want = c.data === undefined ? JSON.stringify(attrs) : JSON.stringify({ ...attrs, data: c.data });
      expect(encodeEvent(c.data === undefined ? { attributes: attrs } : { attributes: attrs, data: c.data })).toBe(want);
    });
  }
  it('bytes become data_base64, and decode back to the same bytes', () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]).subarray(1);
    const text = encodeEvent({ attributes, data: bytes });
    expect(text).toBe(JSON.stringify({ ...attributes, data_base64: Buffer.from(bytes).toString('base64') }));
    expect(decodeEvent(text)).toEqual({ attributes, data: new Uint8Array([1, 2, 250, 255]) });
  });
});

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectJetStream, jetStreamNames } from '../eventing/log/jetstream-log.js';
import { runCli, startZeno, tempDir } from './support/zeno.js';

/** The real nats-server (JetStream on) that .ci/run provides; ZENO_NATS_URL overrides. */
const NATS_URL = process.env.ZENO_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `zt${randomBytes(4).toString('hex')}`;

afterAll(async () => {
  const { nc, jsm } = await connectJetStream(NATS_URL);
  await jsm.streams.delete(jetStreamNames(prefix).stream).catch(() => undefined);
  await nc.close();
});

describe('zeno up --nats', () => {
  it('keeps the event log in JetStream instead of the data dir', async () => {
    const zeno = await startZeno({ extraArgs: ['--nats', NATS_URL, '--nats-prefix', prefix, '--warm-pool', '0'] });
    try {
      const { nc, jsm } = await connectJetStream(NATS_URL);
      try {
        const info = await jsm.streams.info(jetStreamNames(prefix).stream);
        expect(info.config.subjects).toEqual([`${prefix}.events.>`]);
      } finally {
        await nc.close();
      }
      expect(fs.existsSync(path.join(zeno.dataDir, 'events.db'))).toBe(false);
    } finally {
      await zeno.stop();
    }
    expect(zeno.proc.exitCode).toBe(0);
  });

  it('stops with one error line and its code, starting nothing, when NATS does not answer', async () => {
    const dataDir = tempDir();
    const r = await runCli(['up', '--nats', 'nats://127.0.0.1:1', '--port', '0', '--admin-port', '0'], dataDir, { timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    // Progress lines may come first (cli/up.ts); the error is one line, the last.
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^error: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: .*\(ZENO_ERR_NATS_UNAVAILABLE\)$/);
    for (const f of ['admin-url', 'gateway-url', 'token']) expect(fs.existsSync(path.join(dataDir, f)), f).toBe(false);
    expect(r.stdout).not.toContain('Zeno is up');
  });
});

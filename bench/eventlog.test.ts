import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventLog } from '../eventing/log/event-log.js';
import { openSqliteEventLog } from '../eventing/log/sqlite-log.js';
import { benchEventLog } from './eventlog.js';
import { tableRows, type BenchResults } from './report.js';

describe('event log bench', () => {
  it('appends, fetches and acks every event once, and removes its consumer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zeno-bench-eventlog-test-'));
    const log = openSqliteEventLog(join(dir, 'events.db'));
    const seen = new Map<string, number>();
    // Counts what the bench acks, through the real log.
    const counting: EventLog = {
      ...log,
      fetch: async (c, max) => {
        const got = await log.fetch(c, max);
        for (const e of got) seen.set(String(e.event.attributes.id), (seen.get(String(e.event.attributes.id)) ?? 0) + 1);
        return got;
      },
    };
    let consumer = '';
    const add = counting.addConsumer;
    counting.addConsumer = async (b, c, o) => {
      consumer = c;
      return add(b, c, o);
    };
    try {
      const r = await benchEventLog(counting, 300, { appendConcurrency: 8, batch: 16 });
      expect(r.events).toBe(300);
      expect(r.eventsPerSecond).toBeGreaterThan(0);
      expect(seen.size).toBe(300);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      expect(await log.info(consumer)).toBeUndefined();
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports SQLite and JetStream as a row pair, JetStream against SQLite', () => {
    const r = {
      coldStart: { bare: { p50: 1, p99: 1 }, zeno: { p50: 1, p99: 1 } },
      warm: { gateway: { rps: 1, p50Ms: 1, p99Ms: 1 }, direct: { rps: 1, p50Ms: 1, p99Ms: 1 } },
      apply: { samples: { n: 1, p50: 1, max: 1 } },
      eventLog: { sqlite: { events: 5000, seconds: 2, eventsPerSecond: 2500 }, jetstream: { events: 5000, seconds: 1, eventsPerSecond: 5000 } },
    } as unknown as BenchResults;
    const rows = tableRows(r).filter((row) => row[0]!.startsWith('event log'));
    expect(rows).toEqual([
      ['event log append → fetch → ack, SQLite (n=5000)', '2,500 events/s', 'none (no baseline)', '—'],
      ['event log append → fetch → ack, JetStream (n=5000)', '5,000 events/s', '2,500 events/s SQLite', '2.00×'],
    ]);
  });
});

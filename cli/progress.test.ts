import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { formatElapsed, Progress, renderPlainLine, renderTtyLine, truncate } from './progress.js';

describe('formatElapsed', () => {
  it.each([
    [0, '0.0s'],
    [1234, '1.2s'],
    [9_999, '9.9s'],
    [10_000, '10s'],
    [59_900, '59s'],
    [125_000, '2m5s'],
    [3_720_000, '1h2m'],
    [-5, '0.0s'],
  ])('%i ms → %s', (ms, want) => {
    expect(formatElapsed(ms)).toBe(want);
  });
});

describe('renderTtyLine and renderPlainLine', () => {
  it('draws spinner, text and elapsed time', () => {
    expect(renderTtyLine(0, 'waiting for hello: Ready=Unknown (RevisionMissing)', 1200, 80)).toBe('⠋ waiting for hello: Ready=Unknown (RevisionMissing) 1.2s');
    expect(renderTtyLine(11, 'x', 0, 80)).toBe('⠙ x 0.0s');
  });

  it('cuts the text so the line fits in the terminal, keeping the elapsed time', () => {
    const line = renderTtyLine(0, 'waiting for a-very-long-service-name: Ready=Unknown (RevisionMissing)', 3000, 40);
    expect([...line].length).toBe(39);
    expect(line).toMatch(/… 3\.0s$/);
  });

  it('keeps one line whatever the message holds', () => {
    expect(renderTtyLine(0, 'a\n  b', 0, 80)).toBe('⠋ a b 0.0s');
    expect(renderPlainLine('a\nb', 1500)).toBe('  1.5s a b');
  });

  it('truncates by code points', () => {
    expect(truncate('µµµµ', 3)).toBe('µµ…');
    expect(truncate('abc', 3)).toBe('abc');
  });
});

function sink() {
  const chunks: string[] = [];
  return { write: (t: string) => chunks.push(t), chunks, text: () => chunks.join('') };
}

describe('Progress on a terminal', () => {
  it('redraws one line in place every 100 ms and erases it when stopped', () => {
    const clock = new FakeClock();
    const s = sink();
    const p = new Progress({ write: s.write, clock, tty: true, columns: 80 });
    p.update('service/hello', 'waiting for hello: Ready=Unknown (RevisionMissing)');
    expect(s.chunks).toEqual(['\r\x1b[2K⠋ waiting for hello: Ready=Unknown (RevisionMissing) 0.0s']);
    clock.advance(1200);
    expect(s.chunks.at(-1)).toBe('\r\x1b[2K⠹ waiting for hello: Ready=Unknown (RevisionMissing) 1.2s');
    // No newline is ever written while only the progress line changes.
    expect(s.text()).not.toContain('\n');
    p.stop();
    expect(s.chunks.at(-1)).toBe('\r\x1b[2K');
    expect(clock.pending()).toBe(0);
  });

  it('prints lasting lines above the progress line and draws it again', () => {
    const clock = new FakeClock();
    const s = sink();
    const p = new Progress({ write: s.write, clock, tty: true, columns: 120 });
    p.update('service/a', 'waiting for a: Ready=Unknown (Deploying)');
    p.update('service/b', 'waiting for b: not created yet');
    expect(s.chunks.at(-1)).toContain('waiting for a: Ready=Unknown (Deploying) · waiting for b: not created yet');
    clock.advance(500);
    p.finish('service/a', 'a: Ready');
    expect(s.chunks.slice(-3)).toEqual(['\r\x1b[2K', 'a: Ready (0.5s)\n', '\r\x1b[2K⠴ waiting for b: not created yet 0.5s']);
    p.finish('service/b');
    expect(s.chunks.at(-1)).toBe('\r\x1b[2K');
    expect(clock.pending()).toBe(0);
  });
});

describe('Progress elsewhere (plain lines)', () => {
  it('prints a line per change of state, at most one per second per target, and the final state', () => {
    const clock = new FakeClock();
    const s = sink();
    const p = new Progress({ write: s.write, clock, tty: false });
    p.update('service/hello', 'waiting for hello: not created yet');
    clock.advance(200);
    p.update('service/hello', 'waiting for hello: Ready=Unknown (RevisionMissing)');
    clock.advance(300);
    p.update('service/hello', 'waiting for hello: Ready=Unknown (Deploying)');
    // Unchanged for a while: printed once the second has passed, not again.
    clock.advance(3000);
    p.update('service/hello', 'waiting for hello: Ready=Unknown (Deploying)');
    clock.advance(500);
    p.finish('service/hello', 'hello: Ready');
    expect(s.text()).toBe(
      [
        '  0.0s waiting for hello: not created yet',
        '  1.0s waiting for hello: Ready=Unknown (Deploying)',
        '  4.0s hello: Ready',
        '',
      ].join('\n'),
    );
    expect(s.text()).not.toContain('\r');
    expect(clock.pending()).toBe(0);
  });
});

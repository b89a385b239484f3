/**
 * Progress while the CLI waits (apply, delete, `zeno up --examples`), on
 * stderr so `-o json|yaml` on stdout stays machine-readable.
 *
 * - On a terminal: one line, redrawn in place (`\r` + erase line) with a
 *   spinner and the elapsed time, e.g.
 *   `⠹ waiting for hello: Ready=Unknown (RevisionMissing) 1.2s`.
 *   Lines printed meanwhile (platform logs, a finished target) clear it
 *   first and it is drawn again below them.
 * - Elsewhere (CI logs, pipes): plain lines, one per change of state and
 *   at most one per target per second, each with its elapsed time as kn
 *   prints it (`  1.2s hello: Ready=Unknown (RevisionMissing)`), and
 *   always the final state.
 *
 * Rendering is pure (renderTtyLine, renderPlainLine); time comes from the
 * injected Clock.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] as const;
/** Spinner frames per second on a terminal. */
const TTY_REDRAW_MS = 100;
const ERASE_LINE = '\r\x1b[2K';

/** Elapsed time for progress: `0.4s`, `1.2s`, `12s`, `2m5s`, `1h2m`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${(Math.floor(s * 10) / 10).toFixed(1)}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.floor(s % 60)}s`;
  return `${Math.floor(m / 60)}h${m % 60}m`;
}

/** Cuts text to `width` code points, marking the cut with `…`. */
export function truncate(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 1 ? '…'.slice(0, width) : `${chars.slice(0, width - 1).join('')}…`;
}

/**
 * The terminal line: spinner, what is awaited, elapsed time; the text is cut
 * so the whole line fits in `columns` - 1 (a full-width line would wrap in
 * some terminals, and `\r` would then redraw only its last row).
 */
export function renderTtyLine(frame: number, text: string, elapsedMs: number, columns: number): string {
  const spin = SPINNER[((frame % SPINNER.length) + SPINNER.length) % SPINNER.length]!;
  const tail = ` ${formatElapsed(elapsedMs)}`;
  const room = Math.max(columns - 1 - 2 - tail.length, 10);
  return `${spin} ${truncate(oneLine(text), room)}${tail}`;
}

/** A non-terminal line: elapsed time right-aligned in 6 columns, then the text (kn's style). */
export function renderPlainLine(text: string, elapsedMs: number): string {
  return `${formatElapsed(elapsedMs).padStart(6)} ${oneLine(text)}`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

export interface ProgressOptions {
  write: (text: string) => void;
  clock: Clock;
  /** stderr is a terminal. */
  tty: boolean;
  /** Terminal width. @default 80 */
  columns?: number;
  /** Least time between two plain lines of one target. @default PLATFORM_DEFAULTS.cliRefreshMs */
  plainIntervalMs?: number;
}

interface Task {
  text: string;
  startedAt: number;
  /** Plain mode: the text last printed and when. */
  printed?: string;
  printedAt?: number;
}

/** What waiting code reports to; `Progress` draws it, `silentProgress` drops it. */
export interface ProgressSink {
  /** The current state of one awaited thing (key: e.g. `service/hello`). */
  update(key: string, text: string): void;
  /** The thing is done; `final` is printed as a lasting line (both modes). */
  finish(key: string, final?: string): void;
}

export const silentProgress: ProgressSink = { update: () => undefined, finish: () => undefined };

export class Progress implements ProgressSink {
  private readonly tasks = new Map<string, Task>();
  private timer: TimerHandle | undefined;
  private frame = 0;
  /** Whether a terminal line is drawn now (and must be erased before other output). */
  private drawn = false;
  private readonly plainIntervalMs: number;

  constructor(private readonly opts: ProgressOptions) {
    this.plainIntervalMs = opts.plainIntervalMs ?? PLATFORM_DEFAULTS.cliRefreshMs;
  }

  update(key: string, text: string): void {
    const now = this.opts.clock.now();
    let task = this.tasks.get(key);
    if (!task) {
      task = { text, startedAt: now };
      this.tasks.set(key, task);
    }
    task.text = text;
    if (this.opts.tty) this.draw();
    else this.flushPlain(task, now);
    this.ensureTimer();
  }

  finish(key: string, final?: string): void {
    const task = this.tasks.get(key);
    this.tasks.delete(key);
    const elapsed = task ? this.opts.clock.now() - task.startedAt : 0;
    if (final !== undefined) this.print(this.opts.tty ? `${final} (${formatElapsed(elapsed)})` : renderPlainLine(final, elapsed));
    else if (this.opts.tty) this.draw();
    if (!this.tasks.size) this.stopTimer();
  }

  /** A lasting line (e.g. a log line) printed above the progress line. */
  print(line: string): void {
    this.erase();
    this.opts.write(`${line}\n`);
    if (this.opts.tty && this.tasks.size) this.draw();
  }

  /** Erases the terminal line and stops redrawing; call before printing results to stdout. */
  stop(): void {
    this.stopTimer();
    this.erase();
    this.tasks.clear();
  }

  /** The text of the terminal line now (for tests and for stop()). */
  line(): string {
    const now = this.opts.clock.now();
    const tasks = [...this.tasks.values()];
    if (!tasks.length) return '';
    const startedAt = Math.min(...tasks.map((t) => t.startedAt));
    return renderTtyLine(this.frame, tasks.map((t) => t.text).join(' · '), now - startedAt, this.opts.columns ?? 80);
  }

  private draw(): void {
    const line = this.line();
    if (!line) {
      this.erase();
      return;
    }
    this.opts.write(`${ERASE_LINE}${line}`);
    this.drawn = true;
  }

  private erase(): void {
    if (!this.drawn) return;
    this.opts.write(ERASE_LINE);
    this.drawn = false;
  }

  private flushPlain(task: Task, now: number): void {
    if (task.printed === task.text) return;
    if (task.printedAt !== undefined && now - task.printedAt < this.plainIntervalMs) return;
    task.printed = task.text;
    task.printedAt = now;
    this.opts.write(`${renderPlainLine(task.text, now - task.startedAt)}\n`);
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = this.opts.clock.setInterval(
      () => {
        if (this.opts.tty) {
          this.frame++;
          this.draw();
        } else {
          const now = this.opts.clock.now();
          for (const task of this.tasks.values()) this.flushPlain(task, now);
        }
      },
      this.opts.tty ? TTY_REDRAW_MS : this.plainIntervalMs,
    );
  }

  private stopTimer(): void {
    this.opts.clock.clearInterval(this.timer);
    this.timer = undefined;
  }
}

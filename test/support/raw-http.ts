import fs from 'node:fs';
import net from 'node:net';

export interface RawResponse {
  /** Everything the server sent until it closed the connection (or the deadline). */
  text: string;
  /** Status of the first response, 0 when none came. */
  status: number;
  /** The JSON body's `code` of the first response, if any. */
  code: string | undefined;
  /** How many response status lines arrived on the connection. */
  responses: number;
  /** Whether the server closed the connection (false: we gave up at the deadline). */
  closed: boolean;
}

function parse(text: string, closed: boolean): RawResponse {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  const bodyStart = text.indexOf('\r\n\r\n');
  let code: string | undefined;
  if (bodyStart >= 0) {
    const after = text.slice(bodyStart + 4);
    const j = /\{[^]*?"code":"([A-Z_]+)"/.exec(after);
    code = j?.[1];
  }
  return { text, status: m ? Number(m[1]) : 0, code, responses: (text.match(/^HTTP\/1\.[01] \d{3}/gm) ?? []).length, closed };
}

/**
 * Writes raw bytes (pieces in order, `gapMs` apart) to host:port, then reads
 * until the server closes or `timeoutMs` passes. For requests no HTTP client
 * will send: bad framing, smuggling attempts, trickled headers.
 */
export function rawExchange(port: number, pieces: (string | Buffer)[], opts: { timeoutMs?: number; gapMs?: number; keepOpen?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(parse(Buffer.concat(chunks).toString('latin1'), closed));
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5_000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.on('connect', async () => {
      for (let i = 0; i < pieces.length; i++) {
        if (sock.destroyed) return;
        sock.write(pieces[i]!);
        if (opts.gapMs && i < pieces.length - 1) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    });
  });
}

/** Open file descriptors of a process (Linux /proc). */
export function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * What each of the process's file descriptors is ("7 -> socket:[123]"), with
 * the loopback TCP connections it holds, for the message of a failed fd check:
 * a leak then names itself.
 */
export function fdListing(pid: number): string {
  const fds = fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return `${fd} -> ${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}`;
    } catch {
      return `${fd} (gone)`;
    }
  });
  let tcp = '';
  try {
    // Local and remote address:port of every TCP socket on the machine, by inode, for the sockets above.
    const inodes = new Set(fds.map((l) => /socket:\[(\d+)\]/.exec(l)?.[1]).filter(Boolean));
    for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
      for (const line of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
        const c = line.trim().split(/\s+/);
        if (c[9] && inodes.has(c[9])) tcp += `\n  inode ${c[9]}: ${c[1]} -> ${c[2]} state ${c[3]}`;
      }
    }
  } catch {
    // Only for the message.
  }
  return `${fds.join('\n')}${tcp}`;
}

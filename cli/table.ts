/**
 * Plain-text tables and ages as kubectl and kn print them: upper-case
 * headers, columns padded to the widest cell and separated by three spaces,
 * no trailing blanks.
 */

/** A missing value prints as an empty cell, as kn does. */
export type Cell = string | number | undefined;

export function formatTable(headers: string[], rows: Cell[][], opts: { gap?: number; indent?: string } = {}): string {
  const gap = ' '.repeat(opts.gap ?? 3);
  const indent = opts.indent ?? '';
  const text = [headers, ...rows].map((row) => headers.map((_, i) => cellText(row[i])));
  const widths = headers.map((_, i) => Math.max(...text.map((row) => displayWidth(row[i] ?? ''))));
  return text
    .map((row) => {
      const padded = row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - displayWidth(cell))));
      return indent + padded.join(gap).trimEnd();
    })
    .join('\n') + '\n';
}

function cellText(c: Cell): string {
  if (c === undefined) return '';
  // A newline in a cell (a multi-line condition message) would break the grid.
  return String(c).replace(/\s*\n\s*/g, ' ');
}

/** Code points, so a `µ` or an emoji in a message does not shift the columns. */
function displayWidth(s: string): number {
  return [...s].length;
}

/**
 * Age as kubectl prints it (k8s.io/apimachinery/pkg/util/duration.HumanDuration):
 * seconds below 2 minutes, `XmYs` below 10 minutes, minutes below 3 hours,
 * `XhYm` below 8 hours, hours below 2 days, `XdYh` below 8 days, days below
 * 2 years, then `XyYd` below 8 years and years beyond.
 * E.g. 90 s → "90s", 150 s → "2m30s", 3 h 20 m → "3h20m", 50 h → "2d2h".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  // Clocks of two machines may disagree by a second or so: treat as now.
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return withRest(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return withRest(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return withRest(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return withRest(years, 'y', days % 365, 'd');
  return `${years}y`;
}

function withRest(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major}${majorUnit}` : `${major}${majorUnit}${minor}${minorUnit}`;
}

/** Age of an RFC 3339 timestamp at nowMs; blank when unknown. */
export function age(timestamp: string | undefined, nowMs: number): string {
  if (!timestamp) return '';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '';
  return humanDuration(nowMs - t);
}

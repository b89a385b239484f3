/**
 * ISO-8601 durations as Knative's delivery spec writes them (`PT0.2S`,
 * `PT1M30S`, `P1D`). Knative parses them with rickb777/date `period.Parse`
 * (pkg/apis/duck/v1/delivery_types.go). Years and months have no fixed
 * length, so Zeno rejects them instead of approximating: a retry delay of
 * "P1M" is almost certainly a typo for "PT1M".
 */
export type IsoDurationResult = { ms: number } | { error: string };

const UNIT_MS = { W: 7 * 86_400_000, D: 86_400_000, H: 3_600_000, M: 60_000, S: 1000 } as const;

// Sign, then date part (weeks or days, or the rejected Y/M), then the time part.
const RE = /^([+-])?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

export function parseIsoDuration(text: string): IsoDurationResult {
  const m = RE.exec(text.trim());
  if (!m) return { error: `"${text}" is not an ISO-8601 duration (e.g. PT0.2S, PT1M, P1D)` };
  const [, sign, y, mo, w, d, h, mi, s] = m;
  if (y !== undefined || mo !== undefined) {
    return { error: `"${text}": years and months have no fixed length; use days (P30D) or time units (PT1M)` };
  }
  const parts: Array<[string | undefined, number]> = [[w, UNIT_MS.W], [d, UNIT_MS.D], [h, UNIT_MS.H], [mi, UNIT_MS.M], [s, UNIT_MS.S]];
  if (parts.every(([v]) => v === undefined)) return { error: `"${text}" has no components` };
  // "PT" with nothing after the T is matched by the regex but is not a duration.
  if (/T$/.test(text.trim())) return { error: `"${text}" ends with T but has no time components` };
  let total = 0;
  for (const [v, unit] of parts) if (v !== undefined) total += Number(v.replace(',', '.')) * unit;
  // Sub-millisecond precision is irrelevant for retry timing; rounding keeps ms integers.
  total = Math.round(total);
  return { ms: sign === '-' && total !== 0 ? -total : total };
}

/**
 * How to fix what the platform answered, for errors whose message says what
 * went wrong but not what to do (the platform's messages are for any
 * client; the CLI knows its own commands). Pure: code and name in, hint out.
 */
export function hintFor(code: string, name?: string, namespace?: string): string | undefined {
  const n = name ?? 'NAME';
  const ns = namespace && namespace !== 'default' ? ` -n ${namespace}` : '';
  switch (code) {
    case 'ZENO_ERR_FUNCTION_NOT_FOUND':
      return `list the services with "zeno get ksvc -A", or deploy one with "zeno apply -f FILE"`;
    case 'ZENO_ERR_REVISION_FAILED':
    case 'ZENO_ERR_NO_READY_REVISION':
      return `see why with "zeno describe ksvc ${n}${ns}" and "zeno logs ${n}${ns}"`;
    case 'ZENO_ERR_QUEUE_FULL':
      return 'retry after the Retry-After delay, or let it scale further (autoscaling.knative.dev/max-scale)';
    case 'ZENO_ERR_REQUEST_TIMEOUT':
      return `the function answered later than its timeoutSeconds; raise it in the Service's template, or see "zeno logs ${n}${ns}"`;
    case 'ZENO_ERR_UPSTREAM_FAILED':
      return `the function's process failed to answer; see "zeno logs ${n}${ns}"`;
    case 'ZENO_ERR_BROKER_NOT_FOUND':
      return 'list the brokers with "zeno get brokers -A"';
    case 'ZENO_ERR_UNKNOWN_KIND':
      return 'see the kinds Zeno understands in "zeno get --help"';
    case 'ZENO_ERR_CONFLICT':
      return 'someone changed it meanwhile; run the command again';
    default:
      return undefined;
  }
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The closest candidate within 2 edits (or a prefix match), for `did you mean "…"?`. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(w) && w.length >= 3 ? 0.5 : distance(w, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= Math.min(2, Math.max(1, Math.floor(w.length / 3))) ? best : undefined;
}

/**
 * Secrets never leave the platform in listings or logs. Environment values
 * whose variable name looks like a credential are replaced with REDACTED in
 * everything the admin API answers (and so in `zeno get -o yaml|json`, the
 * dashboard and apply results); query parameters with such names are
 * replaced in access-log lines. The stored objects keep the real values, and
 * the function processes get them.
 *
 * Applying an object that still carries REDACTED (e.g. the output of
 * `zeno get -o yaml`, edited) keeps the stored value for that variable:
 * see restoreRedacted.
 */

export const REDACTED = '<redacted>';

/**
 * Names treated as secrets: anything containing TOKEN, SECRET, PASSWORD or
 * PASSWD, API_KEY / APIKEY, ACCESS_KEY, PRIVATE_KEY or CREDENTIAL, in any case.
 */
const SECRET_NAME = /token|secret|passw(or)?d|api_?key|access_?key|private_?key|credential/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

type Json = unknown;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** One env entry `{name, value}` (Kubernetes' EnvVar) with its value hidden when the name is secret. */
function redactEnvVar(e: unknown): unknown {
  if (!isRecord(e) || typeof e.name !== 'string' || typeof e.value !== 'string' || !isSecretName(e.name)) return redactDeep(e);
  return { ...e, value: REDACTED };
}

function redactDeep(v: Json): Json {
  if (Array.isArray(v)) return v.map(redactDeep);
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    if (k === 'env' && Array.isArray(val)) out[k] = val.map(redactEnvVar);
    // A Function's compact form: env is a map NAME → value.
    else if (k === 'env' && isRecord(val)) out[k] = Object.fromEntries(Object.entries(val).map(([n, x]) => [n, typeof x === 'string' && isSecretName(n) ? REDACTED : redactDeep(x)]));
    else out[k] = redactDeep(val);
  }
  return out;
}

/**
 * A copy of any JSON value with every secret env value replaced: `env`
 * lists of `{name, value}` (containers, pod templates) and `env` maps
 * (zeno.dev Functions), at any depth. Values that are not secrets are kept.
 */
export function redactSecrets<T>(v: T): T {
  return redactDeep(v) as T;
}

/** Every env value of `obj` by variable name (lists and maps, any depth). */
function envValues(obj: unknown, into = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(obj)) {
    for (const x of obj) envValues(x, into);
    return into;
  }
  if (!isRecord(obj)) return into;
  for (const [k, val] of Object.entries(obj)) {
    if (k === 'env' && Array.isArray(val)) {
      for (const e of val) if (isRecord(e) && typeof e.name === 'string' && typeof e.value === 'string') into.set(e.name, e.value);
    } else if (k === 'env' && isRecord(val)) {
      for (const [n, x] of Object.entries(val)) if (typeof x === 'string') into.set(n, x);
    } else {
      envValues(val, into);
    }
  }
  return into;
}

/**
 * Puts the stored values back where an applied object carries REDACTED for
 * a secret variable, so that what `zeno get -o yaml` prints can be applied
 * again without wiping the secret. Returns the names that have no stored
 * value to restore (the caller refuses those: REDACTED is never a value).
 * Mutates `next`.
 */
export function restoreRedacted(next: unknown, prev: unknown): string[] {
  const stored = envValues(prev);
  const missing: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!isRecord(v)) return;
    for (const [k, val] of Object.entries(v)) {
      if (k === 'env' && Array.isArray(val)) {
        for (const e of val) {
          if (isRecord(e) && typeof e.name === 'string' && e.value === REDACTED) {
            const s = stored.get(e.name);
            if (s === undefined) missing.push(e.name);
            else e.value = s;
          }
        }
      } else if (k === 'env' && isRecord(val)) {
        for (const [n, x] of Object.entries(val)) {
          if (x !== REDACTED) continue;
          const s = stored.get(n);
          if (s === undefined) missing.push(n);
          else val[n] = s;
        }
      } else {
        visit(val);
      }
    }
  };
  visit(next);
  return missing;
}

/** A URL path with the values of secret-named query parameters replaced (`/x?token=<redacted>&a=1`). */
export function redactQuery(path: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const parts = path.slice(q + 1).split('&').map((kv) => {
    const eq = kv.indexOf('=');
    if (eq < 0) return kv;
    let name: string;
    try {
      name = decodeURIComponent(kv.slice(0, eq).replace(/\+/g, ' '));
    } catch {
      name = kv.slice(0, eq);
    }
    return isSecretName(name) ? `${kv.slice(0, eq)}=${REDACTED}` : kv;
  });
  return `${path.slice(0, q)}?${parts.join('&')}`;
}

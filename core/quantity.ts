/**
 * Kubernetes resource quantities (k8s.io/apimachinery resource.Quantity):
 * a decimal number with an optional binary suffix (Ki Mi Gi Ti Pi Ei),
 * decimal SI suffix (n u m k M G T P E) or decimal exponent (e3, E-2).
 * `128Mi` = 134217728, `1G` = 1e9, `0.5Gi` = 536870912, `129e6` = 129000000.
 */
const SUFFIX: Record<string, number> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** The quantity's value as a number, or undefined when it is not a quantity. */
export function parseQuantity(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) ? text : undefined;
  const m = QUANTITY.exec(text.trim());
  if (!m || text.trim() !== text) return undefined;
  const n = Number(m[1]);
  const v = m[3] !== undefined ? n * 10 ** Number(m[3]) : n * SUFFIX[m[2] ?? '']!;
  return Number.isFinite(v) ? v : undefined;
}

/** `134217728` → `128Mi` (for messages). */
export function formatBytes(bytes: number): string {
  const mib = bytes / 2 ** 20;
  return Number.isInteger(mib) ? `${mib}Mi` : `${mib.toFixed(1)}Mi`;
}

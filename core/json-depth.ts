/**
 * Depth of parsed JSON, measured without recursion. JSON.parse accepts
 * any nesting, but everything that walks the value afterwards (validation,
 * JSON.stringify when storing, structuredClone) recurses and overflows the
 * stack somewhere past a few thousand levels: such input is refused up
 * front (PLATFORM_DEFAULTS.maxJsonDepth) with a 400 instead of a 500.
 */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) continue;
    if (depth > max) return true;
    for (const x of Array.isArray(v) ? v : Object.values(v as Record<string, unknown>)) {
      if (x !== null && typeof x === 'object') stack.push([x, depth + 1]);
    }
  }
  return false;
}

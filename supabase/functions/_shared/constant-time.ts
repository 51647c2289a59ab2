/**
 * Constant-time comparison of byte strings, without `node:crypto`: loading Node's compatibility
 * layer costs a cold start ~20 ms (bench/RESULTS.md).
 *
 * @module
 */

/**
 * True when `a` and `b` hold the same bytes. The time taken depends only on the lengths, never
 * on where the first difference is; unequal lengths return at once (a length is not a secret).
 *
 * @example
 * ```ts
 * const enc = new TextEncoder();
 * constantTimeEqual(enc.encode(given), enc.encode(expected));
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

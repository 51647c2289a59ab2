/**
 * Ports for shared state. The in-memory adapter serves one instance; a PostgreSQL adapter
 * shares the same contract across instances.
 *
 * @module
 */
import type { Outcome } from "../delivery/types.ts";

/** Answer of {@linkcode DedupeStore.claim}. */
export type Claim =
  /** Nobody else is delivering this key: the caller must deliver and then `settle`. */
  | { readonly kind: "first" }
  /**
   * The key was seen: `outcome` resolves with the first delivery's outcome (at once when it is
   * already known).
   */
  | { readonly kind: "duplicate"; readonly outcome: Promise<Outcome> };

/** Remembers deliveries so that a caller's retry never sends a second message. */
export interface DedupeStore {
  /** Claims `key` for `ttlMs`; see {@linkcode Claim}. */
  claim(key: string, ttlMs: number): Promise<Claim>;
  /** Records the outcome of a claimed key and wakes the duplicates waiting for it. */
  settle(key: string, outcome: Outcome): Promise<void>;
}

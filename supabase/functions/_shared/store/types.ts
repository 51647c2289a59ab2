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

/** What the delivery log keeps about a delivery besides its outcome: no code, no full number. */
export interface DeliveryRecord {
  /** `+4474•••••456`. */
  readonly toMasked: string;
  /** The keyed hash the per-number limit counts with; computed only by stores that keep it. */
  readonly toHash?: () => Promise<string>;
  readonly country?: string;
  readonly numberType: string;
  readonly ms: number;
}

/** What a claim is about. */
export interface ClaimOptions {
  /** How long a retry of the same request is answered from this claim. */
  readonly ttlMs: number;
  /** Epoch ms after which the caller stops waiting for another copy's outcome. */
  readonly deadline: number;
  /** The front door, for the log. */
  readonly door: string;
}

/** Remembers deliveries so that a caller's retry never sends a second message. */
export interface DedupeStore {
  /** Claims `key`; see {@linkcode Claim}. May reject when the store is unreachable. */
  claim(key: string, options: ClaimOptions): Promise<Claim>;
  /**
   * Records the outcome of a claimed key and wakes the duplicates waiting for it; `record`
   * completes the delivery log where the store keeps one.
   */
  settle(key: string, outcome: Outcome, record?: DeliveryRecord): Promise<void>;
}

/** The store could not be used and the configuration says to fail closed. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

/** What health says about the store. */
export interface StoreStatus {
  readonly kind: "memory" | "postgres";
  /** `ok`, or why deliveries run on memory (or fail, in closed mode). */
  readonly state: "ok" | "migration_missing" | "unreachable";
}

/** What became of a delivery after the provider accepted it (status callbacks). */
export interface StatusLog {
  /**
   * Records a provider status (`delivered`, `undelivered` + 30007, …) for the delivery whose
   * message or call has `providerId`; a status never replaces a later one. Resolves to whether
   * a delivery was updated.
   */
  recordStatus(providerId: string, status: string, errorCode: number | undefined): Promise<boolean>;
}

/**
 * How an SMS travels: GSM-7 (160 septets in one segment, 153 per part when split) when every
 * character is in the GSM 03.38 alphabet, else UCS-2 (70 UTF-16 units, 67 per part). One
 * character outside GSM-7 (`ó`, `ç`, an emoji) turns the whole message into UCS-2.
 *
 * @module
 */

/** GSM 03.38 basic character set (one septet each). */
const GSM7_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
);

/** GSM 03.38 extension table: an escape septet plus one, so two septets each. */
const GSM7_EXTENSION = new Set("^{}\\[~]|€\f");

/** The encoding and size of one SMS. */
export interface SmsEncoding {
  readonly encoding: "GSM-7" | "UCS-2";
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  readonly units: number;
  readonly segments: number;
}

/**
 * Splits `sizes` (the units of each character) into segments of `single` units, or of `multi`
 * units once more than one is needed, never splitting a character.
 */
function countSegments(sizes: readonly number[], single: number, multi: number): number {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total <= single) return 1;
  let segments = 1;
  let used = 0;
  for (const size of sizes) {
    if (used + size > multi) {
      segments += 1;
      used = 0;
    }
    used += size;
  }
  return segments;
}

/**
 * Computes the encoding and segment count of an SMS body.
 *
 * @example
 * ```ts
 * smsEncoding("Your code is 123456");  // { encoding: "GSM-7", units: 19, segments: 1 }
 * smsEncoding("Tu código es 123456");  // { encoding: "UCS-2", units: 19, segments: 1 }
 * ```
 */
export function smsEncoding(text: string): SmsEncoding {
  const chars = [...text];
  if (chars.every((c) => GSM7_BASIC.has(c) || GSM7_EXTENSION.has(c))) {
    const sizes = chars.map((c) => GSM7_EXTENSION.has(c) ? 2 : 1);
    const units = sizes.reduce((a, b) => a + b, 0);
    return { encoding: "GSM-7", units, segments: countSegments(sizes, 160, 153) };
  }
  // Characters beyond the Basic Multilingual Plane take two UTF-16 units, kept together.
  const sizes = chars.map((c) => c.length);
  const units = sizes.reduce((a, b) => a + b, 0);
  return { encoding: "UCS-2", units, segments: countSegments(sizes, 70, 67) };
}

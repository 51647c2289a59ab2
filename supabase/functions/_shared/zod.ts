/**
 * zod, configured before any schema is made. Every module of the function imports `z` from here,
 * never from "zod": zod reads the setting when a schema is created, so a schema made before the
 * setting ran would still compile code (tests/config_test.ts counts `new Function` from a fresh
 * start to the first answered hook).
 *
 * zod compiles each object schema's fast path with `new Function` on its first parse: ~7 ms of a
 * cold start for schemas parsed once (the settings) or a few times, against ~1 µs per request
 * saved on the payloads. OTP traffic is sparse, so a request is often an isolate's first: parse
 * without it (bench/OPTIMISATIONS.md). Parsing gives the same results either way.
 *
 * @module
 */
import { z } from "zod";

z.config({ jitless: true });

export { z };

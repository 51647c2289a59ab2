/**
 * Delivery reports of the fetch providers (Vonage, Plivo, Telnyx) on `/<provider>/status`: what
 * became of a message after the provider accepted it, recorded on the delivery log in one status
 * vocabulary, and opt-outs learnt on the way.
 *
 * Each provider's reader (`providers/<name>/report.ts`) checks a signature that covers the body
 * before it reads anything: anything unsigned, signed with another key or tampered with gets 403.
 * Reports are requested only when `OTP_PUBLIC_URL` is set, so without it these routes don't exist.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { KeyedHash } from "../delivery/limits.ts";
import type { InboundReport, OptOutStore, ReportVerdict, StatusLog } from "../delivery/ports.ts";
import type { Logger } from "../log.ts";

/** What the door needs. */
export interface ProviderStatusDeps {
  /** `vonage`, `plivo`, `telnyx`: the route is `/<provider>/status`. */
  readonly provider: string;
  /** The exact URL given to the provider (signatures may cover it). */
  readonly callbackUrl: string;
  /** Verifies and reads one request; loaded on the first report. */
  readonly read: (input: InboundReport) => Promise<ReportVerdict>;
  readonly statusLog: StatusLog;
  readonly optOuts?: OptOutStore;
  readonly hash?: KeyedHash;
  readonly log: Logger;
}

/** Statuses that mean the message did not reach the phone. */
const FAILED = new Set(["undelivered", "failed"]);

/**
 * Creates the door as a Hono sub-app answering `GET` and `POST /<provider>/status` (Vonage sends
 * either, as the owner chose in its dashboard).
 *
 * @example
 * ```ts
 * app.route("/", createProviderStatusDoor({ provider: "telnyx", callbackUrl, read, statusLog, log }));
 * ```
 */
export function createProviderStatusDoor(deps: ProviderStatusDeps): Hono {
  const app = new Hono();
  const { provider, log } = deps;
  app.on(
    ["GET", "POST"],
    `/${provider}/status`,
    bodyLimit({
      maxSize: 64 * 1024,
      onError: (c) => c.json({ message: "Payload too large" }, 413),
    }),
    async function providerStatus(c) {
      const body = c.req.method === "POST" ? await c.req.text() : "";
      const query = new URL(c.req.url).search.slice(1);
      let verdict: ReportVerdict;
      try {
        verdict = await deps.read({
          method: c.req.method,
          url: deps.callbackUrl,
          headers: c.req.raw.headers,
          body,
          query,
        });
      } catch (err) {
        log.error("provider_status_unreadable", {
          provider,
          error: err instanceof Error ? err.name : typeof err,
        });
        return c.json({ message: "Internal error" }, 500);
      }
      if (!verdict.ok) {
        log.warn(verdict.status === 403 ? "provider_status_forbidden" : "provider_status_invalid", {
          provider,
          detail: verdict.why,
        });
        return c.json(
          { message: verdict.status === 403 ? "Forbidden" : "Invalid report" },
          verdict.status,
        );
      }
      for (const report of verdict.reports) {
        let recorded = false;
        try {
          recorded = await deps.statusLog.recordStatus(
            provider,
            report.providerId,
            report.status,
            report.errorCode,
          );
        } catch (err) {
          log.error("provider_status_not_recorded", {
            provider,
            id: report.providerId,
            error: err instanceof Error ? err.name : typeof err,
          });
        }
        let optOut: boolean | undefined;
        if (report.optedOut && report.to && deps.optOuts && deps.hash) {
          try {
            await deps.optOuts.record(await deps.hash(`number:${report.to}`), provider, "report");
            optOut = true;
          } catch (err) {
            optOut = false;
            log.error("opt_out_not_recorded", {
              provider,
              id: report.providerId,
              error: err instanceof Error ? err.name : typeof err,
            });
          }
        }
        log[FAILED.has(report.status) ? "warn" : "info"]("delivery_status", {
          provider,
          id: report.providerId,
          status: report.status,
          ...(report.errorCode === undefined ? {} : { errorCode: report.errorCode }),
          ...(optOut === undefined ? {} : { optOutRecorded: optOut }),
          recorded,
        });
      }
      return c.body(null, 200);
    },
  );
  return app;
}

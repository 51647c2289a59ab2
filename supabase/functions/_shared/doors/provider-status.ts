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
      // A write that failed is answered 503, so the provider sends the report again: a STOP
      // acknowledged but not recorded would be lost for good (found in review).
      let failed = false;
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
          failed = true;
          log.error("provider_status_not_recorded", {
            provider,
            id: report.providerId,
            error: err instanceof Error ? err.name : typeof err,
          });
        }
        let optOut: "recorded" | "cleared" | "failed" | undefined;
        if (report.to && deps.optOuts) {
          try {
            if (report.optedOut) {
              await deps.optOuts.record(report.to, provider, "report");
              optOut = "recorded";
            } else if (report.status === "delivered") {
              // Delivered: the number takes this provider's messages again (the user replied
              // START), which a send accepted by Vonage or Plivo alone doesn't prove.
              await deps.optOuts.clear(report.to, provider);
            }
          } catch (err) {
            failed = true;
            optOut = "failed";
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
          ...(optOut === undefined ? {} : { optOut }),
          recorded,
        });
      }
      if (failed) return c.json({ message: "Not recorded, send it again" }, 503);
      return c.body(null, 200);
    },
  );
  return app;
}

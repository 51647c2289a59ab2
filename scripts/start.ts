/**
 * `deno task start`: serves the function on 127.0.0.1:${PORT:-8000}, same paths as Supabase
 * (`/send-sms`, `/send-sms/okta`, `/send-sms/auth0`, `/send-sms/health`), with development
 * defaults for unset settings.
 *
 * @module
 */
import { appFromEnv } from "../supabase/functions/_shared/bootstrap.ts";
import { withDevDefaults } from "./_dev-defaults.ts";

const { env, filled } = withDevDefaults(Deno.env.toObject());
const boot = appFromEnv(env);
if ("error" in boot) {
  console.error(`otp-relay: ${boot.error.message}`);
  Deno.exit(1);
}

const port = Number(env.PORT ?? "8000");
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("otp-relay: PORT must be a port number");
  Deno.exit(1);
}

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen({ port }) {
    console.log(`otp-relay listening on http://127.0.0.1:${port}/send-sms`);
    console.log(
      `providers: ${
        boot.config.routing.order.join(", ")
      }; health: http://127.0.0.1:${port}/send-sms/health`,
    );
    if (filled.length > 0) {
      console.log(`development defaults for: ${filled.join(", ")} (never used when deployed)`);
    }
    const doors = [
      ...(boot.config.supabaseHookSecrets ? ["supabase"] : []),
      ...(boot.config.okta ? ["okta"] : []),
      ...(boot.config.auth0 ? ["auth0"] : []),
    ];
    console.log(
      `doors: ${doors.map((d) => d === "supabase" ? "/send-sms" : `/send-sms/${d}`).join(", ")}`,
    );
    console.log("send a test request: deno task sign [--door okta|auth0] | sh");
  },
}, boot.app.fetch);

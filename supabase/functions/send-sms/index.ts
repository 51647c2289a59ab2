// otp-relay as Supabase's HTTP Send SMS hook. Supabase's edge runtime delivers requests on
// /send-sms/…; everything else lives in ../_shared (see app.ts).
import { appFromEnv } from "../_shared/bootstrap.ts";

const { app } = appFromEnv(Deno.env.toObject());

Deno.serve(app.fetch);

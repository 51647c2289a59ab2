/**
 * A local fake of Twilio's REST API on 127.0.0.1, speaking Twilio's request, response and error
 * shapes: form-encoded POSTs with Basic auth, `201` Message resources, and
 * `{code, message, more_info, status}` errors; and the Account resource
 * (`GET /2010-04-01/Accounts/{sid}.json`) a credentials check reads, counted in `reads`.
 *
 * By default it behaves like Twilio; `respond` (sends) and `respondRead` (account reads)
 * override the answer per request to inject failures (error codes, 5xx, hangs).
 */

/** One request the fake received. */
export interface ReceivedMessage {
  /** `Messages` (SMS and WhatsApp) or `Calls` (voice). */
  readonly resource: "Messages" | "Calls";
  readonly accountSid: string;
  readonly form: URLSearchParams;
  readonly headers: Headers;
}

/** The channel a received request is for, as the router names it. */
export function channelOf(
  m: Pick<ReceivedMessage, "resource" | "form">,
): "sms" | "whatsapp" | "voice" {
  if (m.resource === "Calls") return "voice";
  return m.form.get("To")?.startsWith("whatsapp:") ? "whatsapp" : "sms";
}

/** What `respond` may return instead of the default: a Response, or `"hang"` (never answer). */
export type FakeAnswer = Response | "hang" | undefined;

/** Options of {@linkcode startFakeTwilio}. */
export interface FakeTwilioOptions {
  accountSid?: string;
  authToken?: string;
  /** Called for each authenticated Messages request; `undefined` means behave like Twilio. */
  respond?: (message: ReceivedMessage) => FakeAnswer | Promise<FakeAnswer>;
  /** Called for each authenticated account read; `undefined` means behave like Twilio. */
  respondRead?: (read: ReceivedRead) => FakeAnswer | Promise<FakeAnswer>;
}

/** One authenticated read of the account resource (`GET /2010-04-01/Accounts/{sid}.json`). */
export interface ReceivedRead {
  readonly path: string;
  readonly headers: Headers;
}

/** A running fake. */
export interface FakeTwilio {
  readonly baseUrl: string;
  readonly accountSid: string;
  readonly authToken: string;
  /** Every authenticated Messages and Calls request, in order. */
  readonly messages: ReceivedMessage[];
  /** The SIDs of the messages and calls it accepted (answered 201), in order. */
  readonly accepted: AcceptedMessage[];
  /** Every authenticated account read, in order: counted apart, a read sends nothing. */
  readonly reads: ReceivedRead[];
  close(): Promise<void>;
}

/** A message or call the fake accepted. */
export interface AcceptedMessage {
  readonly sid: string;
  /** As Twilio got it (`whatsapp:` prefix included). */
  readonly to: string;
}

export const FAKE_ACCOUNT_SID = "AC" + "0123456789abcdef".repeat(2);
export const FAKE_AUTH_TOKEN = "f".repeat(32);

/** Twilio's error body, as its API sends it. */
export function twilioError(status: number, code: number, message: string): Response {
  return Response.json({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  }, { status });
}

function hexId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function messageResource(accountSid: string, form: URLSearchParams): Record<string, unknown> {
  const sid = hexId("SM");
  const now = new Date().toUTCString().replace("GMT", "+0000");
  return {
    account_sid: accountSid,
    api_version: "2010-04-01",
    body: form.get("Body"),
    date_created: now,
    date_sent: null,
    date_updated: now,
    direction: "outbound-api",
    error_code: null,
    error_message: null,
    from: form.get("From"),
    messaging_service_sid: form.get("MessagingServiceSid"),
    num_media: "0",
    num_segments: "1",
    price: null,
    price_unit: "USD",
    sid,
    status: form.has("MessagingServiceSid") ? "accepted" : "queued",
    subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
    to: form.get("To"),
    uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
  };
}

/** Twilio's Account resource, as `GET /2010-04-01/Accounts/{sid}.json` answers it (200). */
function accountResource(accountSid: string, authToken: string): Response {
  const uri = `/2010-04-01/Accounts/${accountSid}`;
  return Response.json({
    // Twilio's answer holds the auth token: a client must never log or repeat it.
    auth_token: authToken,
    date_created: "Thu, 30 Jul 2015 20:00:00 +0000",
    date_updated: "Thu, 30 Jul 2015 20:00:00 +0000",
    friendly_name: "otp-relay test account",
    owner_account_sid: accountSid,
    sid: accountSid,
    status: "active",
    subresource_uris: {
      balance: `${uri}/Balance.json`,
      calls: `${uri}/Calls.json`,
      messages: `${uri}/Messages.json`,
    },
    type: "Full",
    uri: `${uri}.json`,
  });
}

const E164 = /^\+[1-9]\d{6,14}$/;

function createMessage(accountSid: string, form: URLSearchParams): Response {
  const to = form.get("To") ?? "";
  const whatsapp = to.startsWith("whatsapp:");
  if (!E164.test(whatsapp ? to.slice("whatsapp:".length) : to)) {
    return twilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
  }
  if (!form.get("Body") && !form.get("ContentSid")) {
    return twilioError(400, 21602, "Message body is required.");
  }
  if (!form.get("From") && !form.get("MessagingServiceSid")) {
    return twilioError(400, 21603, "A 'From' phone number is required.");
  }
  if (whatsapp && !form.get("From")?.startsWith("whatsapp:")) {
    return twilioError(
      400,
      63007,
      "Twilio could not find a Channel with the specified From address",
    );
  }
  if (form.has("ContentVariables")) {
    try {
      JSON.parse(form.get("ContentVariables")!);
    } catch {
      return twilioError(400, 21656, "The ContentVariables Parameter is invalid.");
    }
  }
  return Response.json(messageResource(accountSid, form), { status: 201 });
}

function createCall(accountSid: string, form: URLSearchParams): Response {
  const to = form.get("To") ?? "";
  if (!E164.test(to)) return twilioError(400, 21217, "Phone number does not appear to be valid");
  if (!E164.test(form.get("From") ?? "")) {
    return twilioError(400, 21212, "Invalid 'From' Phone Number");
  }
  const twiml = form.get("Twiml");
  if (!twiml && !form.get("Url")) return twilioError(400, 21205, "Url parameter is required.");
  if (twiml && (twiml.length > 4000 || !/<Response>[\s\S]*<\/Response>$/.test(twiml))) {
    return twilioError(400, 32018, "Invalid TwiML");
  }
  const sid = hexId("CA");
  return Response.json({
    account_sid: accountSid,
    api_version: "2010-04-01",
    direction: "outbound-api",
    from: form.get("From"),
    sid,
    status: "queued",
    to,
    uri: `/2010-04-01/Accounts/${accountSid}/Calls/${sid}.json`,
  }, { status: 201 });
}

/** The fake's request handling, shared by the HTTP server here and the faulty one. */
export interface FakeTwilioHandler {
  readonly accountSid: string;
  readonly authToken: string;
  readonly messages: ReceivedMessage[];
  readonly accepted: AcceptedMessage[];
  readonly reads: ReceivedRead[];
  /** Answers one request as Twilio would (or as `respond` says). */
  handle(req: Request): Promise<Response>;
  /** Releases requests left hanging. */
  release(): void;
}

/** Creates the handler behind {@linkcode startFakeTwilio}. */
export function createFakeTwilioHandler(options: FakeTwilioOptions = {}): FakeTwilioHandler {
  const accountSid = options.accountSid ?? FAKE_ACCOUNT_SID;
  const authToken = options.authToken ?? FAKE_AUTH_TOKEN;
  const messages: ReceivedMessage[] = [];
  const accepted: AcceptedMessage[] = [];
  const reads: ReceivedRead[] = [];
  const hanging = new Set<(r: Response) => void>();
  const expectedAuth = `Basic ${btoa(`${accountSid}:${authToken}`)}`;

  async function handle(req: Request): Promise<Response> {
    const res = await answer(req);
    if (res.status === 201) {
      const resource = await res.clone().json().catch(() => ({}));
      if (typeof resource.sid === "string") accepted.push({ sid: resource.sid, to: resource.to });
    }
    return res;
  }

  async function answer(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const account = url.pathname.match(/^\/2010-04-01\/Accounts\/([^/]+)\.json$/);
    if (account && req.method === "GET") {
      // The credentials are checked as for a send.
      if (req.headers.get("authorization") !== expectedAuth || account[1] !== accountSid) {
        return twilioError(401, 20003, "Authenticate");
      }
      const read: ReceivedRead = { path: url.pathname, headers: req.headers };
      reads.push(read);
      const given = await options.respondRead?.(read);
      if (given === "hang") return await new Promise<Response>((resolve) => hanging.add(resolve));
      return given ?? accountResource(accountSid, authToken);
    }
    const match = url.pathname.match(
      /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)\.json$/,
    );
    if (!match || req.method !== "POST") {
      return twilioError(404, 20404, `The requested resource ${url.pathname} was not found`);
    }
    if (req.headers.get("authorization") !== expectedAuth || match[1] !== accountSid) {
      return twilioError(401, 20003, "Authenticate");
    }
    const form = new URLSearchParams(await req.text());
    const received: ReceivedMessage = {
      resource: match[2] as "Messages" | "Calls",
      accountSid: match[1],
      form,
      headers: req.headers,
    };
    messages.push(received);

    const given = await options.respond?.(received);
    if (given === "hang") {
      // Never answers on its own; released at close().
      return await new Promise<Response>((resolve) => hanging.add(resolve));
    }
    if (given) return given;

    return received.resource === "Calls"
      ? createCall(accountSid, form)
      : createMessage(accountSid, form);
  }

  return {
    accountSid,
    authToken,
    messages,
    accepted,
    reads,
    handle,
    release() {
      for (const resolve of hanging) resolve(new Response(null, { status: 503 }));
      hanging.clear();
    },
  };
}

/** Starts the fake on a free loopback port. */
export function startFakeTwilio(options: FakeTwilioOptions = {}): FakeTwilio {
  const handler = createFakeTwilioHandler(options);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => handler.handle(req),
  );
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    accountSid: handler.accountSid,
    authToken: handler.authToken,
    messages: handler.messages,
    accepted: handler.accepted,
    reads: handler.reads,
    async close() {
      handler.release();
      await server.shutdown();
    },
  };
}

/**
 * A fault-injecting Twilio on 127.0.0.1: the fake's REST API (./twilio-api.ts) behind a raw TCP
 * server, so faults can happen where HTTP libraries can't put them: a connection reset in the
 * middle of an answer, a body cut short, an answer that trickles in a byte at a time, or none.
 *
 * Each request is answered on its own connection (`Connection: close`), and `fault` decides,
 * from the resource and the request's position, what goes wrong with it.
 */
import {
  type AcceptedMessage,
  channelOf,
  createFakeTwilioHandler,
  type FakeTwilio,
  type ReceivedMessage,
  twilioError,
} from "./twilio-api.ts";

/** What can go wrong with one request. */
export type Fault =
  /** The connection is reset after half a status line: the request body is never read. */
  | "reset"
  /** Twilio accepts the message, but the answer's body stops halfway and the connection closes. */
  | "cut"
  /** The request is read; nothing ever comes back. */
  | "hang"
  /**
   * Twilio creates the message (the recipient gets it), then nothing ever comes back: to the
   * client it is a hang, yet the code has left.
   */
  | "accepted-hang"
  /** Twilio accepts the message; its answer arrives a byte every 50 ms. */
  | "trickle"
  /** Twilio's 500 with its error body (code 20500): not accepted. */
  | "500"
  /** Twilio's 503 with `Retry-After` and its error body (code 20503): not accepted. */
  | "503"
  /** A proxy's 502 page, no Twilio body: whether Twilio got the request is unknown. */
  | "502-proxy"
  /** Twilio's 429 with `Retry-After` (code 20429): not accepted. */
  | "429"
  /** A 201 whose body is not JSON: Twilio may well have queued the message. */
  | "invalid-json"
  /** A 201 message resource without a `sid`. */
  | "no-sid";

export const FAULTS: readonly Fault[] = [
  "reset",
  "cut",
  "hang",
  "accepted-hang",
  "trickle",
  "500",
  "503",
  "502-proxy",
  "429",
  "invalid-json",
  "no-sid",
];

/**
 * The faults after which Twilio has created the message (or call): the recipient gets it, though
 * the client never learns its SID. (Real Twilio may also have queued an `invalid-json` 201; the
 * fake creates nothing for it.)
 */
export const CREATING_FAULTS: ReadonlySet<Fault> = new Set<Fault>([
  "cut",
  "accepted-hang",
  "trickle",
  "no-sid",
]);

/** One request the faulty fake saw, and what it did to it. */
export interface FaultyRequest {
  readonly resource: "Messages" | "Calls";
  /** The channel, from the resource and the `To` (unknown when the body was never read). */
  readonly channel: "sms" | "whatsapp" | "voice" | "sms or whatsapp";
  /**
   * The recipient: the `To` form value, without its `whatsapp:` prefix (undefined for `reset`,
   * whose body is never read).
   */
  readonly to?: string;
  readonly fault: Fault | "none";
}

/** A running faulty fake. */
export interface FaultyTwilio extends FakeTwilio {
  /** Every request, in arrival order, with its fault. */
  readonly requests: FaultyRequest[];
  /**
   * Every message or call Twilio created, whether or not its answer arrived (cut, accepted-hang,
   * trickle and no-sid create one too): what the recipient gets.
   */
  readonly created: AcceptedMessage[];
  /** Those sent back in a complete 2xx answer with their SID: what the client could know. */
  readonly accepted: AcceptedMessage[];
}

/** Options of {@linkcode startFaultyTwilio}. */
export interface FaultyTwilioOptions {
  /** The fault for the `index`-th request (from 0), or undefined to behave like Twilio. */
  fault(request: { resource: "Messages" | "Calls"; index: number }): Fault | undefined;
}

const encoder = new TextEncoder();
const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** Reads the request head a byte at a time, so the body stays unread in the socket. */
async function readHead(conn: Deno.Conn): Promise<string | undefined> {
  const one = new Uint8Array(1);
  let head = "";
  while (!head.endsWith("\r\n\r\n")) {
    if ((await conn.read(one)) === null || head.length > 65_536) return undefined;
    head += String.fromCharCode(one[0]!);
  }
  return head;
}

async function readBody(conn: Deno.Conn, length: number): Promise<Uint8Array> {
  const body = new Uint8Array(length);
  let read = 0;
  while (read < length) {
    const n = await conn.read(body.subarray(read));
    if (n === null) break;
    read += n;
  }
  return body.slice(0, read);
}

function responseHead(status: number, headers: Headers, length: number): Uint8Array {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}\r\n`;
  for (const [k, v] of headers) {
    if (k !== "content-length" && k !== "connection") head += `${k}: ${v}\r\n`;
  }
  head += `content-length: ${length}\r\nconnection: close\r\n\r\n`;
  return encoder.encode(head);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the faulty fake on a free loopback port. */
export function startFaultyTwilio(options: FaultyTwilioOptions): FaultyTwilio {
  const handler = createFakeTwilioHandler();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const connections = new Set<Deno.Conn>();
  const requests: FaultyRequest[] = [];
  const accepted: AcceptedMessage[] = [];
  let closed = false;

  async function serve(conn: Deno.Conn): Promise<void> {
    const head = await readHead(conn);
    if (!head) return;
    const [requestLine = "", ...lines] = head.trimEnd().split("\r\n");
    const [method = "GET", target = "/"] = requestLine.split(" ");
    const headers = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    const resource = /\/Calls\.json$/.test(target) ? "Calls" : "Messages";
    const fault = options.fault({ resource, index: requests.length });
    if (fault === "reset") {
      requests.push({
        resource,
        channel: resource === "Calls" ? "voice" : "sms or whatsapp",
        fault,
      });
      // Closing with the request body unread makes the kernel answer with RST.
      await writeAll(conn, encoder.encode("HTTP/1.1 201 Cre"));
      return;
    }
    const body = await readBody(conn, Number(headers.get("content-length") ?? 0));
    const form = new URLSearchParams(new TextDecoder().decode(body));
    const to = form.get("To")?.replace(/^whatsapp:/, "");
    requests.push({
      resource,
      channel: channelOf({ resource, form }),
      ...(to === undefined ? {} : { to }),
      fault: fault ?? "none",
    });
    if (fault === "hang" || fault === "accepted-hang") {
      if (fault === "accepted-hang") {
        // Twilio creates the message (handler.accepted, which `created` is); its answer is lost.
        await handler.handle(
          new Request(`http://127.0.0.1:${port}${target}`, { method, headers, body }),
        );
      }
      while (!closed) await sleep(50);
      return;
    }

    let response: Response;
    switch (fault) {
      case "500":
        response = twilioError(500, 20500, "Internal Server Error");
        break;
      case "503":
        response = twilioError(503, 20503, "Service Unavailable");
        response.headers.set("retry-after", "1");
        break;
      case "429":
        response = twilioError(429, 20429, "Too Many Requests");
        response.headers.set("retry-after", "1");
        break;
      case "502-proxy":
        response = new Response("<html><body><h1>502 Bad Gateway</h1></body></html>", {
          status: 502,
          headers: { "content-type": "text/html" },
        });
        break;
      case "invalid-json":
        response = new Response('{"account_sid": "AC', {
          status: 201,
          headers: { "content-type": "application/json" },
        });
        break;
      default: {
        // Twilio's own answer (for none, cut, trickle and no-sid; accepted-hang above).
        response = await handler.handle(
          new Request(`http://127.0.0.1:${port}${target}`, { method, headers, body }),
        );
        if (fault === "no-sid") {
          const resourceBody = await response.json();
          delete resourceBody.sid;
          response = Response.json(resourceBody, { status: 201 });
        }
      }
    }

    const bytes = new Uint8Array(await response.arrayBuffer());
    await writeAll(conn, responseHead(response.status, response.headers, bytes.length));
    if (fault === "cut") {
      await writeAll(conn, bytes.subarray(0, bytes.length >> 1));
      return;
    }
    if (fault === "trickle") {
      for (let i = 0; i < bytes.length && !closed; i++) {
        await writeAll(conn, bytes.subarray(i, i + 1));
        await sleep(50);
      }
      return;
    }
    await writeAll(conn, bytes);
    if (fault === undefined && response.status >= 200 && response.status < 300) {
      const resource = JSON.parse(new TextDecoder().decode(bytes));
      if (typeof resource.sid === "string") accepted.push({ sid: resource.sid, to: resource.to });
    }
  }

  (async () => {
    for await (const conn of listener) {
      connections.add(conn);
      serve(conn).catch(() => {/* the client went away */}).finally(() => {
        connections.delete(conn);
        try {
          conn.close();
        } catch { /* already closed */ }
      });
    }
  })().catch(() => {/* listener closed */});

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    accountSid: handler.accountSid,
    authToken: handler.authToken,
    messages: handler.messages as ReceivedMessage[],
    reads: handler.reads,
    requests,
    created: handler.accepted,
    accepted,
    async close() {
      closed = true;
      handler.release();
      listener.close();
      for (const conn of connections) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await sleep(60); // let hanging and trickling loops notice
    },
  };
}

/** A loopback URL on which nothing listens: connections are refused. */
export function refusingUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

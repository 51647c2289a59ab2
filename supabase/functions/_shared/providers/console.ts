/**
 * The console provider: prints each delivery instead of sending it, for a developer's machine.
 *
 * It prints the code — showing it is its whole purpose — and is the one exception to "no codes
 * in logs". The configuration never selects it silently on Supabase's hosted runtime.
 *
 * @module
 */
import { maskPhone } from "../log.ts";
import type { OutboundMessage, Provider } from "../delivery/ports.ts";

/** Options of {@linkcode createConsoleProvider}. */
export interface ConsoleProviderOptions {
  /** Receives one line per delivery; defaults to `console.log`. */
  print?: (line: string) => void;
}

function describe(message: OutboundMessage): string {
  switch (message.channel) {
    case "sms":
      return message.body;
    case "whatsapp":
      return `(authentication template) ${message.code}`;
    case "voice": {
      const { intro, again, digits, voice } = message.script;
      if (digits.length === 0) return `(${voice}) ${intro}`;
      return `(${voice}) ${intro} ${digits.join(" ")}. ${again} ${digits.join(" ")}.`;
    }
  }
}

/**
 * Creates the console provider; it takes every channel.
 *
 * @example
 * ```ts
 * const provider = createConsoleProvider();
 * await provider.send({ channel: "sms", to, body: "Your code is 123456" }, { signal });
 * ```
 */
export function createConsoleProvider(options: ConsoleProviderOptions = {}): Provider {
  const print = options.print ?? ((line: string) => console.log(line));
  let sequence = 0;
  return {
    name: "console",
    channels: ["sms", "whatsapp", "voice"],
    send(message) {
      sequence += 1;
      print(
        `[otp-relay] ${message.channel} to ${maskPhone(message.to.e164)}: ${describe(message)}`,
      );
      return Promise.resolve({ ok: true, id: `console-${sequence}` });
    },
    // No `check`: there are no credentials to check and nothing to reach.
  };
}

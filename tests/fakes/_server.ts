/**
 * The part every fetch-based provider fake shares: a server on a free loopback port, answers
 * that hang until the client gives up or the fake closes, and a close that releases them.
 */

/** A running fake server. */
export interface FakeServer {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string;
  /** Never answers until `signal` aborts (the client gives up) or the server closes: then 503. */
  hang(signal: AbortSignal): Promise<Response>;
  /** Releases hanging requests and stops the server. */
  close(): Promise<void>;
}

/**
 * Serves `handler` on 127.0.0.1 at a free port.
 *
 * @example
 * ```ts
 * const server = serveFake((req) => server.hang(req.signal));
 * await server.close();
 * ```
 */
export function serveFake(handler: (req: Request) => Promise<Response>): FakeServer {
  const hanging = new Set<(res: Response) => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    hang(signal) {
      return new Promise((resolve) => {
        const release = (res: Response) => {
          hanging.delete(release);
          resolve(res);
        };
        hanging.add(release);
        signal.addEventListener("abort", () => release(new Response(null, { status: 503 })), {
          once: true,
        });
      });
    },
    async close() {
      for (const release of [...hanging]) release(new Response(null, { status: 503 }));
      await server.shutdown();
    },
  };
}

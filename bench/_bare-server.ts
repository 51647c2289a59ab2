// Baseline for bench/run.ts: the least a Deno HTTP server can do for a hook, answering `{}`.
const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}/send-sms`),
}, async (req) => {
  await req.text();
  return new Response("{}", { headers: { "content-type": "application/json" } });
});
await server.finished;

// Baseline for the cold start: a minimal Hono app on Deno.serve, answering a hook with `{}`.
import { Hono } from "hono";

const app = new Hono().basePath("/send-sms");
app.post("/", async (c) => {
  await c.req.text();
  return c.json({});
});
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}/send-sms`),
}, app.fetch);

/**
 * The serve benchmark's anchor: Fastify's hello world (GET / → {"hello":"world"}), the same
 * Fastify as the service. Prints {"url": …} on stdout once listening, like `streamflow serve
 * --json`, and closes on SIGTERM.
 */
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.get("/", () => ({ hello: "world" }));
const url = await app.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.once("SIGTERM", () => {
  void app.close().then(() => process.exit(0));
});

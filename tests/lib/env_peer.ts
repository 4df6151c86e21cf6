/**
 * A peer that builds its MuleClient from its environment only (REDIS_URL, PEER_NAME, LOG_LEVEL,
 * MULE_CONNECT_TIMEOUT), run by tests/lib/mod_test.ts as a child process with an environment of
 * its own: test files run in parallel in one process, and setting these variables there would
 * reach every peer another test starts meanwhile.
 * Arguments: optional `--redis-url <url>` and `--peer-name <name>` set on the builder instead.
 * Prints one JSON line: `{"error": {"variable", "message"}}` (exit 1) when build() refuses, else
 * `{"peerName"}` after it sent `started|env`, one log line per level and `stopped`.
 */
import { MuleClientBuilder, MuleClientError } from "../../lib/typescript/mod.ts";

const builder = new MuleClientBuilder();
for (let i = 0; i < Deno.args.length; i += 2) {
  const [flag, value] = [Deno.args[i], Deno.args[i + 1]];
  if (flag === "--redis-url") builder.redisUrl(value);
  else if (flag === "--peer-name") builder.peerName(value);
  else throw new Error(`unknown argument ${flag}`);
}
try {
  const client = await builder.build();
  await client.sendStatus("started|env");
  client.log.debug("debug line");
  client.log.info("info line");
  client.log.warn("warn line");
  client.log.error("error line");
  await client.sendStatus("stopped"); // flushes queued lines first
  await client.close();
  console.log(JSON.stringify({ peerName: client.peerName }));
} catch (error) {
  if (!(error instanceof MuleClientError)) throw error;
  console.log(JSON.stringify({ error: { variable: error.variable, message: error.message } }));
  Deno.exit(1);
}

/**
 * Test support: a TCP forwarder, run as its own process so that it can be started inside a
 * network namespace (`ip netns exec <ns> deno run --allow-net tcp_forward.ts LISTEN TARGET`):
 * every connection accepted on LISTEN (`host:port`) is piped both ways to TARGET. Prints
 * `listening` once it accepts, and runs until killed. The test registry uses it to make
 * `127.0.0.1:<port>` reach one registry from host A's and host B's namespaces alike.
 */
const [listen, target] = Deno.args;
if (!listen || !target) {
  console.error("usage: tcp_forward.ts LISTEN_HOST:PORT TARGET_HOST:PORT");
  Deno.exit(2);
}
const split = (address: string) => {
  const at = address.lastIndexOf(":");
  return { hostname: address.slice(0, at), port: Number(address.slice(at + 1)) };
};

const listener = Deno.listen(split(listen));
console.log("listening");
for await (const inbound of listener) {
  (async () => {
    try {
      const outbound = await Deno.connect(split(target));
      await Promise.allSettled([
        inbound.readable.pipeTo(outbound.writable),
        outbound.readable.pipeTo(inbound.writable),
      ]);
    } catch {
      // The target refused, or one side went away: the other is closed below.
    } finally {
      try {
        inbound.close();
      } catch {
        // Already closed by its pipe.
      }
    }
  })();
}

import { assertEquals } from "../support/assert.ts";
import { peerEnvironment, SYSTEM_VARIABLES } from "../../src/plan/environment.ts";
import { parseConfig } from "../../src/plan/load.ts";
import { place } from "../../src/plan/placement.ts";

const config = parseConfig(
  `name: env
redis: { port: 6379, image: redis:7-alpine }
peer_environment:
  - SHARED=everyone
  - OVERRIDDEN=from peer_environment
  - PEER_NAME=cannot win
  - QUERY=a=b&c=d
hosts:
  - { name: box, address: 10.0.0.1, ssh_user: tm, ssh_auth: agent, base_port: 12000 }
peers:
  - name: alice
    image: peer:1
    environment:
      OVERRIDDEN: from alice
      REDIS_URL: redis://wrong:1
      HOST_NAME: nope
      LISTEN_ADDR: nope
      COUNT: 3
  - name: bob
    image: peer:1
commands: []
`,
  "env.yaml",
);
const [alice, bob] = place(config);

Deno.test("peerEnvironment() layers peer_environment, then the peer's, then system variables", () => {
  assertEquals(peerEnvironment(config, alice, "redis://10.0.0.5:6379"), {
    SHARED: "everyone",
    OVERRIDDEN: "from alice",
    QUERY: "a=b&c=d",
    COUNT: "3",
    REDIS_URL: "redis://10.0.0.5:6379",
    PEER_NAME: "alice",
    LISTEN_ADDR: "/ip4/0.0.0.0/udp/12000/quic-v1",
    HOST_NAME: "box",
  });
});

Deno.test("peerEnvironment() gives a peer without its own environment the shared one", () => {
  assertEquals(peerEnvironment(config, bob, "redis://r:1"), {
    SHARED: "everyone",
    OVERRIDDEN: "from peer_environment",
    QUERY: "a=b&c=d",
    REDIS_URL: "redis://r:1",
    PEER_NAME: "bob",
    LISTEN_ADDR: "/ip4/0.0.0.0/udp/12001/quic-v1",
    HOST_NAME: "box",
  });
});

Deno.test("peerEnvironment() never lets the config override a system variable", () => {
  const env = peerEnvironment(config, alice, "redis://right:6379", "10.0.0.1");
  assertEquals(SYSTEM_VARIABLES.map((name) => env[name]), [
    "redis://right:6379",
    "alice",
    "/ip4/0.0.0.0/udp/12000/quic-v1",
    "box",
    "10.0.0.1",
  ]);
});

Deno.test("peerEnvironment() sets ADVERTISE_IP from the runtime, over any config value", () => {
  const env = peerEnvironment(
    { ...config, peer_environment: { ADVERTISE_IP: "172.17.0.4" } },
    bob,
    "redis://r:1",
    "10.231.7.2",
  );
  assertEquals(env.ADVERTISE_IP, "10.231.7.2");
  assertEquals(
    "ADVERTISE_IP" in
      peerEnvironment({ ...config, peer_environment: { ADVERTISE_IP: "x" } }, bob, "redis://r:1"),
    false,
  );
});

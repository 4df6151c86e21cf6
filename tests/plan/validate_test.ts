import { assertEquals } from "../support/assert.ts";
import { closestMatch, type ConfigParts, validateConfig } from "../../src/plan/validate.ts";
import type {
  CommandConfig,
  HostConfig,
  PeerConfig,
  SshHostConfig,
} from "../../src/plan/schema.ts";

function host(address: string, fields: Partial<SshHostConfig> = {}): HostConfig {
  return {
    connection: "ssh",
    address,
    ssh_user: "tm",
    ssh_auth: "agent",
    ssh_port: 22,
    host_key_check: "accept-new",
    base_port: 11984,
    tags: [],
    ...fields,
  };
}

function peer(name: string, fields: Partial<PeerConfig> = {}): PeerConfig {
  return { name, image: "peer:1", bootstrap: [], environment: {}, runs_on: [], ...fields };
}

function command(peer: string, command = "connect", time = 1): CommandConfig {
  return { time, peer, command };
}

function check(parts: Partial<ConfigParts>) {
  return validateConfig({ hosts: [host("10.0.0.1")], peers: [], commands: [], ...parts });
}

Deno.test("validateConfig() accepts a consistent config", () => {
  assertEquals(
    check({
      peers: [peer("alice"), peer("bob", { bootstrap: ["alice"] })],
      commands: [command("alice"), command("bob", "restart|2"), command("bob", "restart|0.5")],
    }),
    [],
  );
});

Deno.test("validateConfig() reports duplicate peer names at the later one", () => {
  assertEquals(check({ peers: [peer("a"), peer("b"), peer("a")] }), [{
    path: ["peers", 2, "name"],
    message: 'duplicate peer name "a" (first used by peers[0])',
  }]);
});

Deno.test("validateConfig() reports unknown, repeated and self bootstrap entries", () => {
  assertEquals(
    check({ peers: [peer("alice", { bootstrap: ["alcie", "bob", "bob", "alice"] }), peer("bob")] }),
    [
      {
        path: ["peers", 0, "bootstrap", 0],
        message: 'unknown peer "alcie" (did you mean "alice"?)',
      },
      { path: ["peers", 0, "bootstrap", 2], message: '"bob" is listed twice' },
      {
        path: ["peers", 0, "bootstrap", 3],
        message: "peer alice cannot bootstrap from itself",
      },
    ],
  );
});

Deno.test("validateConfig() reports commands for unknown peers and restarts without a delay", () => {
  assertEquals(
    check({
      peers: [peer("alice")],
      commands: [command("zed"), command("alice", "restart"), command("alice", "restart|later")],
    }),
    [
      { path: ["commands", 0, "peer"], message: 'unknown peer "zed"' },
      {
        path: ["commands", 1, "command"],
        message: '"restart": restart takes a delay in seconds, e.g. restart|2',
      },
      {
        path: ["commands", 2, "command"],
        message: '"restart|later": restart takes a delay in seconds, e.g. restart|2',
      },
    ],
  );
});

Deno.test("validateConfig() leaves out peer checks while a peer entry is broken", () => {
  assertEquals(
    check({ peers: [peer("alice"), undefined], commands: [command("bob")] }),
    [],
  );
});

Deno.test("validateConfig() points unsatisfiable runs_on at every peer asking for it", () => {
  assertEquals(
    check({
      hosts: [host("10.0.0.1", { tags: ["gpu", "fast"] }), host("10.0.0.2", { tags: ["cpu"] })],
      peers: [
        peer("zoe", { runs_on: ["gpu", "slow"] }),
        peer("alice", { runs_on: ["gpu"] }),
        peer("max", { runs_on: ["gpu", "slow"] }),
        peer("bob", { runs_on: ["gpus"] }),
      ],
    }),
    [
      {
        path: ["peers", 0, "runs_on"],
        message: "no host has all of the tags [gpu, slow] required by peers max, zoe",
      },
      {
        path: ["peers", 2, "runs_on"],
        message: "no host has all of the tags [gpu, slow] required by peers max, zoe",
      },
      {
        path: ["peers", 3, "runs_on"],
        message:
          'no host has all of the tags [gpus] required by peer bob ("gpus": did you mean "gpu"?)',
      },
    ],
  );
});

Deno.test("validateConfig() checks each host's port range against the peers placed there", () => {
  const peers = ["a", "b", "c", "d", "e"].map((name) => peer(name));
  // Round robin: 3 peers on the first host, 2 on the second.
  assertEquals(
    check({
      hosts: [host("10.0.0.1", { base_port: 65533 }), host("10.0.0.2", { base_port: 65534 })],
      peers,
    }),
    [],
  );
  assertEquals(
    check({
      hosts: [host("10.0.0.1", { base_port: 65534 }), host("10.0.0.2", { base_port: 65535 })],
      peers,
    }),
    [
      {
        path: ["hosts", 0, "base_port"],
        message: "3 peers are placed on 10.0.0.1, needing UDP ports 65534-65536, past 65535; " +
          "lower base_port to at most 65533",
      },
      {
        path: ["hosts", 1, "base_port"],
        message: "2 peers are placed on 10.0.0.2, needing UDP ports 65535-65536, past 65535; " +
          "lower base_port to at most 65534",
      },
    ],
  );
});

Deno.test("validateConfig() rejects a machine listed twice and duplicate host names", () => {
  assertEquals(
    check({
      hosts: [
        host("10.0.0.1", { name: "a" }),
        host("10.0.0.1", { name: "b" }),
        host("10.0.0.1", { name: "c", ssh_port: 2222 }),
        host("10.0.0.2", { name: "a" }),
      ],
    }),
    [
      {
        path: ["hosts", 1, "address"],
        message: "10.0.0.1 (ssh port 22) is already listed as hosts[0]; " +
          "list each machine once and steer peers with tags",
      },
      {
        path: ["hosts", 3, "name"],
        message: 'host name "a" is already used by hosts[0]; host names must be unique',
      },
    ],
  );
});

Deno.test("closestMatch() suggests near misses only", () => {
  assertEquals(closestMatch("bootstarp", ["name", "image", "bootstrap", "runs_on"]), "bootstrap");
  assertEquals(closestMatch("runs-on", ["bootstrap", "runs_on"]), "runs_on");
  assertEquals(closestMatch("Tags", ["tags"]), "tags");
  assertEquals(closestMatch("colour", ["name", "image"]), undefined);
  assertEquals(closestMatch("cpu", ["gpu"]), undefined);
  assertEquals(closestMatch("x", []), undefined);
});

Deno.test("validateConfig() leaves a swarm's placement to run time, and refuses other host entries beside it", () => {
  const swarm: HostConfig = {
    connection: "swarm",
    manager: "local",
    address: "localhost",
    ssh_port: 22,
    host_key_check: "accept-new",
    nodes: {},
    base_port: 13000,
    tags: [],
  };
  assertEquals(check({ hosts: [swarm], peers: [peer("alice", { runs_on: ["gpu"] })] }), []);
  assertEquals(check({ hosts: [swarm, host("10.0.0.1")], peers: [peer("alice")] }), [{
    path: ["hosts", 1, "connection"],
    message: "a connection: swarm entry stands for all its nodes: it is the only host entry",
  }]);
});

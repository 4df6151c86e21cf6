import { assertEquals, assertRejects } from "../../support/assert.ts";
import {
  type AddressSources,
  AdvertiseAddressError,
  advertiseAddresses,
  type AdvertiseHost,
} from "../../../src/runtimes/docker/advertise_address.ts";
import type { HostConfig } from "../../../src/plan/schema.ts";

function ssh(address: string, extra: Partial<HostConfig> = {}): HostConfig {
  return {
    connection: "ssh",
    address,
    ssh_user: "tm",
    ssh_auth: "agent",
    ssh_port: 22,
    host_key_check: "accept-new",
    base_port: 11000,
    tags: [],
    ...extra,
  } as HostConfig;
}
const local: HostConfig = { connection: "local", address: "localhost", base_port: 11000, tags: [] };

/** A resolver of a fixed table (counting lookups) and fixed interfaces. */
function sources(
  names: Record<string, string>,
  interfaces: { name: string; family: string; address: string }[] = [],
): AddressSources & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    lookups,
    resolve(name) {
      lookups.push(name);
      const address = names[name] ?? (/^\d+(\.\d+){3}$/.test(name) ? name : undefined);
      return address ? Promise.resolve(address) : Promise.reject(new Error("ENOTFOUND"));
    },
    interfaces: () => interfaces,
  };
}

Deno.test("advertiseAddresses() gives an SSH host its address resolved, once per name", async () => {
  const hosts: AdvertiseHost[] = [
    { config: ssh("box-b.lan"), orchestratorAddress: "10.0.0.1" },
    { config: ssh("10.0.0.3"), orchestratorAddress: "10.0.0.1" },
    { config: ssh("box-b.lan", { ssh_port: 2222 }), orchestratorAddress: "10.0.0.1" },
  ];
  const from = sources({ "box-b.lan": "10.0.0.2" });
  assertEquals(await advertiseAddresses(hosts, from), ["10.0.0.2", "10.0.0.3", "10.0.0.2"]);
  assertEquals(from.lookups, ["box-b.lan", "10.0.0.3"]);
});

Deno.test("advertiseAddresses() gives this machine the address the other hosts see it at", async () => {
  const hosts: AdvertiseHost[] = [
    { config: local, orchestratorAddress: null },
    { config: ssh("127.0.0.1"), orchestratorAddress: "127.0.0.1" },
    { config: ssh("10.231.7.2"), orchestratorAddress: "::ffff:10.231.7.1" },
  ];
  assertEquals(await advertiseAddresses(hosts, sources({})), [
    "10.231.7.1",
    "10.231.7.1",
    "10.231.7.2",
  ]);
});

Deno.test("advertiseAddresses() alone on this machine takes a physical interface before a bridge", async () => {
  const from = sources({}, [
    { name: "lo", family: "IPv4", address: "127.0.0.1" },
    { name: "docker0", family: "IPv4", address: "172.17.0.1" },
    { name: "eth0", family: "IPv6", address: "fe80::1" },
    { name: "eth0", family: "IPv4", address: "192.168.1.20" },
  ]);
  assertEquals(await advertiseAddresses([{ config: local, orchestratorAddress: null }], from), [
    "192.168.1.20",
  ]);
});

Deno.test("advertiseAddresses() lets a host's advertise override, and names the host when it fails", async () => {
  const hosts: AdvertiseHost[] = [
    { config: { ...local, advertise: "203.0.113.7" }, orchestratorAddress: null },
    { config: ssh("10.0.0.2", { advertise: "public.example" }), orchestratorAddress: "10.0.0.1" },
  ];
  assertEquals(await advertiseAddresses(hosts, sources({ "public.example": "198.51.100.4" })), [
    "203.0.113.7",
    "198.51.100.4",
  ]);
  const error = await assertRejects(
    () =>
      advertiseAddresses([{
        config: ssh("nowhere.invalid", { name: "b" }),
        orchestratorAddress: "10.0.0.1",
      }], sources({})),
    AdvertiseAddressError,
  );
  assertEquals(
    error.message,
    "b: cannot tell the address other hosts reach its peers at (ADVERTISE_IP): nowhere.invalid " +
      "does not resolve to an IPv4 address; set advertise: <IPv4 address> on the host",
  );
});

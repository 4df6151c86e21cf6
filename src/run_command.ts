/**
 * The actions that touch hosts: a test run and the host resets. Placeholder until the run
 * engine is wired in; it loads the config so that config errors already surface.
 */
import { loadConfigFile } from "./config/load.ts";

export async function runTest(
  configPath: string,
  _options: { tui: boolean; verbose: boolean; redisUrl?: string },
): Promise<number> {
  await loadConfigFile(configPath);
  throw new Error("test runs are wired up by the lead");
}

export async function resetHosts(
  configPath: string,
  _options: { all: boolean; yes: boolean; verbose: boolean },
): Promise<number> {
  await loadConfigFile(configPath);
  throw new Error("test runs are wired up by the lead");
}

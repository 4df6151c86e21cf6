/** tm: orchestrates distributed peer-to-peer integration tests. */
import { main } from "./src/cli/cli.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

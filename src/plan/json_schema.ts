/**
 * The JSON Schema of a tm config (what `tm schema` prints), generated from the zod schema so
 * it can never drift from what the loader accepts. It describes the input side (defaults
 * optional). Draft-07, the dialect editors' YAML language servers understand best.
 */
import { z } from "zod";
import { TestFileSchema } from "./schema.ts";

/** `$id` of the schema; editors only use it as a name. */
export const CONFIG_SCHEMA_ID = "urn:tm:config";

export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(TestFileSchema, { io: "input", target: "draft-7" });
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: CONFIG_SCHEMA_ID,
    title: "tm test configuration",
    description:
      "A distributed peer test run by tm: Redis, hosts, peers and a timeline of commands.",
    ...rest,
  };
}

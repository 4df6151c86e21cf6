/** The version of tm, read from deno.json so that there is one place to bump it. */
import denoJson from "../../deno.json" with { type: "json" };

export const VERSION: string = denoJson.version;

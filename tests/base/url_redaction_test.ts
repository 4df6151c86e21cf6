import { assertEquals } from "../support/assert.ts";
import { redactUrls } from "../../src/base/url_redaction.ts";

Deno.test("redactUrls() masks the password of a URL and keeps user, host, port and database", () => {
  assertEquals(
    redactUrls("redis://default:s3cret@10.0.0.1:6379/2"),
    "redis://default:***@10.0.0.1:6379/2",
  );
  assertEquals(redactUrls("rediss://:p%40ss@redis.example"), "rediss://:***@redis.example");
  assertEquals(redactUrls("redis://10.0.0.1:6379"), "redis://10.0.0.1:6379");
  assertEquals(redactUrls("redis://user@10.0.0.1"), "redis://user@10.0.0.1");
});

Deno.test("redactUrls() masks every URL inside a longer text, such as a docker command line", () => {
  assertEquals(
    redactUrls("docker run -e REDIS_URL=redis://default:a:b@h:1 -e B=redis://u:x@g"),
    "docker run -e REDIS_URL=redis://default:***@h:1 -e B=redis://u:***@g",
  );
  assertEquals(redactUrls("no url: a:b@c, time 12:30"), "no url: a:b@c, time 12:30");
});

import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("commits and reads back a document", async () => {
    const base = "http://x/v1/projects/p/databases/(default)/documents";
    const commit = await SELF.fetch(`${base}:commit`, {
      method: "POST",
      body: JSON.stringify({
        writes: [
          { update: { name: "projects/p/databases/(default)/documents/c/d", fields: { a: { integerValue: "1" } } } },
        ],
      }),
    });
    expect(commit.status).toBe(200);
    const get = await SELF.fetch(`${base}/c/d`);
    expect(await get.json()).toMatchObject({ fields: { a: { integerValue: "1" } } });
  });
});

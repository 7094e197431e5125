/**
 * `FLARESTORE_BRANCH=dev npm start`: the server's databases are branch `dev`'s (a wrangler
 * environment's `[vars]` does the same for a deployment); the header still reaches another branch.
 */
import { describe, expect, it } from "vitest";
import { startServer } from "../helpers/server.js";

describe("FLARESTORE_BRANCH", () => {
  it("names the branch of every request that does not say otherwise", async () => {
    const server = await startServer({ env: { FLARESTORE_BRANCH: "dev" } });
    const doc = (branch?: string) =>
      fetch(`${server.url}/v1/projects/branchy/databases/(default)/documents/c/d`, {
        headers: branch ? { "x-flarestore-branch": branch } : {},
      }).then((r) => r.status);
    try {
      const res = await fetch(`${server.url}/v1/projects/branchy/databases/(default)/documents/c/d`, {
        method: "PATCH",
        body: JSON.stringify({ fields: {} }),
      });
      expect(res.status).toBe(200);
      expect(await doc()).toBe(200);
      expect(await doc("dev")).toBe(200);
      expect(await doc("main")).toBe(404);
      // The registry hears of it in the background, after the first answer.
      const deadline = Date.now() + 10_000;
      let listed: any[] = [];
      while (!listed.some((d) => d.branch === "dev" && d.project === "branchy") && Date.now() < deadline) {
        listed = ((await (await fetch(`${server.url}/emulator/v1/branches`)).json()) as any).databases;
        await new Promise((r) => setTimeout(r, 100));
      }
      // main's database is listed too: the read above used it (empty), and a used database exists.
      expect(listed.filter((d) => d.project === "branchy").map((d) => d.branch)).toContain("dev");
    } finally {
      await server.stop();
    }
  });
});

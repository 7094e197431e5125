/**
 * The baseline Worker for `npm run bench`: the smallest useful Durable Object round trip.
 *
 * This file is never run by Node. `bench/run.mjs` reads it as text and hands it to Miniflare as an
 * inline `script` of a second worker (routed by host `bare.bench`), beside flarestore in the same
 * workerd process, so both sides pay exactly the same dispatch, socket and runtime costs:
 *
 *   GET  /read   fetch handler → RPC `read("c/d")`  → one `SELECT` by primary key → small JSON
 *   POST /write  fetch handler → parse the small JSON body → RPC `write("c/d", v)` → one
 *                `INSERT OR REPLACE` inside `ctx.storage.transactionSync` → small JSON
 *   POST /read   the same, after parsing a small JSON request body (as batchGet has one)
 *   GET  /       no Durable Object at all: a constant JSON answer (shows the dispatch floor)
 */
import { DurableObject } from "cloudflare:workers";

export class BareDO extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)");
    ctx.storage.sql.exec('INSERT OR IGNORE INTO kv (k, v) VALUES (\'c/d\', \'{"a":1,"s":"hello"}\')');
  }

  read(key) {
    const rows = this.ctx.storage.sql.exec("SELECT k, v FROM kv WHERE k = ?", key).toArray();
    return rows[0] ?? null;
  }

  write(key, value) {
    this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", key, value);
    });
    return { ok: true };
  }
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/") return new Response('{"bare":true}', { headers: JSON_HEADERS });
    const stub = env.BARE.get(env.BARE.idFromName("bench/(default)"));
    if (request.method === "POST" && url.pathname === "/write") {
      const body = await request.json();
      return new Response(JSON.stringify(await stub.write("c/d", JSON.stringify(body))), { headers: JSON_HEADERS });
    }
    if (url.pathname === "/read") {
      if (request.method === "POST") await request.json();
      return new Response(JSON.stringify(await stub.read("c/d")), { headers: JSON_HEADERS });
    }
    return new Response("not found", { status: 404 });
  },
};

/**
 * Node-side helpers for `browser.test.ts`: bundle `page.ts` with esbuild, serve it from its own
 * origin with `node:http`, and bound every async step with a timeout that says what hung.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { build } from "esbuild";

export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Bundles `page.ts` (or another page script here) and the web builds of firebase it uses into one ES module. */
export async function bundlePage(entry = "page.ts"): Promise<string> {
  const result = await build({
    entryPoints: [join(import.meta.dirname, entry)],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    sourcemap: "inline",
    logLevel: "silent",
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for test/e2e/browser/${entry}`);
  return out.text;
}

export interface HttpServer {
  /** e.g. `http://127.0.0.1:43121` */
  origin: string;
  port: number;
  close(): Promise<void>;
}

/** A `node:http` server on a free port of 127.0.0.1. */
export async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<HttpServer> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const PAGE_HTML = `<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>flarestore browser e2e</title>
    <link rel="icon" href="data:,">
    <script type="module" src="/page.js"></script>
  </head>
  <body>flarestore browser e2e</body>
</html>
`;

/** Serves the test page (`/`) and its bundle (`/page.js`); anything else is a 404. */
export function servePage(bundle: string): Promise<HttpServer> {
  return serve((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(PAGE_HTML);
    } else if (path === "/page.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" });
      res.end(bundle);
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    }
  });
}

/** Rejects with `Timed out after <ms> ms: <what>` if `promise` does not settle in time. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

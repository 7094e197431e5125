/**
 * Shortens the server SDK's retry backoff (delays capped at `maxMs`) through the SDK's own test
 * hook (`setTimeoutHandler` in its backoff module). Over REST the SDK resets its backoff to the
 * 60 s maximum after every ABORTED transaction (wire doc §3.5), so a test of contended
 * transactions would otherwise measure the SDK's sleeping, 30–90 s per abort, not the server.
 * Returns a function that restores the default timer.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export function shortenAdminBackoff(maxMs = 20): () => void {
  const require = createRequire(import.meta.url);
  const entry = require.resolve("@google-cloud/firestore");
  const backoff = require(join(dirname(entry), "backoff.js")) as {
    setTimeoutHandler(handler: (f: () => void, ms: number) => void): void;
  };
  backoff.setTimeoutHandler((f, ms) => setTimeout(f, Math.min(ms, maxMs)));
  return () => backoff.setTimeoutHandler(setTimeout);
}

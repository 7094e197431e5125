/**
 * WebChannel (closure BrowserChannel, VER=8): the browser SDK's transport for Listen and Write,
 * as a pure protocol layer (client-wire-protocol.md §6). No I/O, no timers: a transport (the
 * Durable Object hosting the sessions) parses each HTTP request, drives a `ChannelSession`, and
 * performs what comes back. For each request on `…/google.firestore.v1.Firestore/{Listen|Write}/channel`:
 *
 *   const req = parseChannelRequest(method, url.searchParams, await request.text());
 *   if (!req.ok) → errorResponse(req.error)
 *   handshake    → ChannelSession.open(req, { newId, now }) → store session; reply `response`;
 *                  hand `messages` to the stream engine; its replies go through `session.sendAll(…, now)`.
 *   (later requests: session = sessions.get(req.sid); if !session?.accepts(req.params) → unknownSidResponse())
 *   back channel → session.attachBackChannel(req, now) → 200 with CHANNEL_HEADERS; end the `replaced`
 *                  response if any; write `write`; end if `end`, else keep the response and call
 *                  `session.tick(now)` at `deadline`; tell `session.detachBackChannel(id, now)` when it closes.
 *   forward      → session.receive(req, now) → hand the maps to the engine (its replies: `sendAll`,
 *                  each returned `BackChannelOutput` written to the response it names), then reply
 *                  `session.forwardResponse()`.
 *   terminate    → session.terminate() (end the back channel it returns), forget it, reply terminateResponse().
 *   errors       → stream error: `session.sendError(firestoreError, now)`; an `endsSession(error)` result: drop
 *                  the session and reply errorResponse (Unknown SID, so the client handshakes again).
 *   idle         → an alarm at `session.nextDeadline()` calls `tick(now)`; `expired` means forget it.
 *   hibernation  → store `session.toJSON()`; `ChannelSession.restore(stored, now)` on wake-up.
 */
export * from "./forward-body.js";
export * from "./request.js";
export * from "./responses.js";
export type { WireError, WireErrorKind, WireResult } from "./result.js";
export * from "./session.js";
export * from "./session-io.js";
export * from "./snapshot.js";
export * from "./wire.js";

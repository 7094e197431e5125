/**
 * Resume tokens: opaque bytes to clients (base64 in JSON). Ours name the read time of the
 * snapshot the client had, as `rt:<microseconds>`, so they stay valid across restarts and
 * redeploys for as long as document versions are kept (they hold no server state).
 */
import { invalidArgument } from "../errors/index.js";
import type { Micros } from "../model/types.js";

/** The resume token of a snapshot at `readTime`, base64. */
export function resumeToken(readTime: Micros): string {
  return btoa(`rt:${readTime}`);
}

/** The read time a resume token (canonical base64) names; INVALID_ARGUMENT for anything else. */
export function decodeResumeToken(token: string, where: string): Micros {
  let text: string;
  try {
    text = atob(token);
  } catch {
    text = "";
  }
  const m = /^rt:(\d{1,16})$/.exec(text);
  const time = m ? Number(m[1]) : Number.NaN;
  if (!Number.isSafeInteger(time)) {
    throw invalidArgument(`${where}: not a resume token this server issued.`);
  }
  return time;
}

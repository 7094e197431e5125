/**
 * Parses a rules file (`firestore.rules`) into its tree, or refuses it with the line and column of
 * the first problem: a syntax error, or a limit of Cloud Firestore's (256 KB of source, match
 * nesting 10 deep, 7 parameters and 10 `let`s per function, one `cloud.firestore` service).
 */
import { invalidArgument } from "../errors/index.js";
import type { At, Body, Ruleset } from "./ast.js";
import { SyntaxError as PeggySyntaxError, parse } from "./gen/parser.js";

export const MAX_SOURCE_BYTES = 256 * 1024;
const MAX_MATCH_DEPTH = 10;
const MAX_PARAMS = 7;
const MAX_LETS = 10;

/** The parsed ruleset; INVALID_ARGUMENT `file:line:column: …` when the source is not valid rules. */
export function parseRules(source: string, file = "firestore.rules"): Ruleset {
  if (new TextEncoder().encode(source).length > MAX_SOURCE_BYTES) {
    throw invalidArgument(`${file}: the rules are over ${MAX_SOURCE_BYTES / 1024} KB.`);
  }
  let ruleset: Ruleset;
  try {
    ruleset = parse(source, { grammarSource: file }) as Ruleset;
  } catch (e) {
    if (e instanceof PeggySyntaxError) {
      const { line, column } = e.location.start;
      throw invalidArgument(`${file}:${line}:${column}: ${e.message}`);
    }
    throw e;
  }
  const where = (at: At) => `${file}:${at.line}:${at.column}`;
  if (ruleset.version !== undefined && ruleset.version !== "2" && ruleset.version !== "1") {
    throw invalidArgument(`${file}: rules_version must be '1' or '2', not '${ruleset.version}'.`);
  }
  const firestore = ruleset.services.filter((s) => s.name === "cloud.firestore");
  if (firestore.length !== 1) {
    throw invalidArgument(`${file}: expected one "service cloud.firestore { … }" block, found ${firestore.length}.`);
  }
  const check = (body: Body, depth: number) => {
    for (const fn of body.functions) {
      if (fn.params.length > MAX_PARAMS) {
        throw invalidArgument(`${where(fn.at)}: function ${fn.name} has more than ${MAX_PARAMS} parameters.`);
      }
      if (fn.lets.length > MAX_LETS) {
        throw invalidArgument(`${where(fn.at)}: function ${fn.name} has more than ${MAX_LETS} let bindings.`);
      }
    }
    for (const match of body.matches) {
      if (depth + 1 > MAX_MATCH_DEPTH) {
        throw invalidArgument(`${where(match.at)}: match blocks nest more than ${MAX_MATCH_DEPTH} deep.`);
      }
      const rests = match.path.flatMap((s, i) => ("variable" in s && s.rest ? [i] : []));
      if (rests.length > 1) {
        throw invalidArgument(`${where(match.at)}: a match path may hold one {name=**} wildcard, not ${rests.length}.`);
      }
      // Version 1 took them last only; version 2 anywhere (`/{path=**}/posts/{post}` for collection groups).
      if (ruleset.version !== "2" && rests.length === 1 && rests[0] !== match.path.length - 1) {
        throw invalidArgument(
          `${where(match.at)}: a {name=**} wildcard must be the last segment of a match path before rules_version '2'.`,
        );
      }
      check(match.body, depth + 1);
    }
  };
  for (const service of ruleset.services) check(service.body, 0);
  return ruleset;
}

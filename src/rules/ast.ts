/**
 * The tree the rules parser (rules.peggy, generated into gen/parser.js) builds for a rules file.
 * Every node carries where it starts, for error messages.
 */

export interface At {
  line: number;
  column: number;
}

export interface Ruleset {
  version: string | undefined;
  services: Service[];
}

export interface Service {
  /** e.g. `cloud.firestore`. */
  name: string;
  body: Body;
  at: At;
}

export interface Body {
  functions: FunctionDecl[];
  matches: Match[];
  allows: Allow[];
}

export interface Match {
  kind: "match";
  path: MatchSegment[];
  body: Body;
  at: At;
}

/** A literal segment, `{name}` (one segment) or `{name=**}` (the rest of the path, zero or more). */
export type MatchSegment = { literal: string } | { variable: string; rest: boolean };

export type Method = "read" | "write" | "get" | "list" | "create" | "update" | "delete";

export interface Allow {
  kind: "allow";
  methods: Method[];
  /** Absent: `allow read;` allows unconditionally. */
  condition: Expr | undefined;
  at: At;
}

export interface FunctionDecl {
  kind: "function";
  name: string;
  params: string[];
  lets: { name: string; value: Expr; at: At }[];
  result: Expr;
  at: At;
}

export type Expr =
  | { k: "lit"; type: "null"; at: At }
  | { k: "lit"; type: "bool"; value: boolean; at: At }
  /** Number literals keep their text: int64 and float are parsed when evaluated. */
  | { k: "lit"; type: "int" | "float"; value: string; at: At }
  | { k: "lit"; type: "string" | "bytes"; value: string; at: At }
  | { k: "id"; name: string; at: At }
  | { k: "list"; items: Expr[]; at: At }
  | { k: "map"; entries: [Expr, Expr][]; at: At }
  | { k: "path"; segments: ({ literal: string } | { e: Expr })[]; at: At }
  | { k: "member"; e: Expr; name: string; at: At }
  | { k: "index"; e: Expr; index: Expr; at: At }
  | { k: "slice"; e: Expr; from: Expr | undefined; to: Expr | undefined; at: At }
  | { k: "call"; fn: Expr; args: Expr[]; at: At }
  | { k: "unary"; op: "!" | "-"; e: Expr; at: At }
  | {
      k: "binary";
      op: "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "+" | "-" | "*" | "/" | "%";
      l: Expr;
      r: Expr;
      at: At;
    }
  | { k: "and" | "or"; l: Expr; r: Expr; at: At }
  | { k: "is"; e: Expr; type: string; at: At }
  | { k: "cond"; test: Expr; then: Expr; otherwise: Expr; at: At };

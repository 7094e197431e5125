/**
 * One error type for the whole server: a gRPC status code plus a message, rendered as the
 * `google.rpc.Status` JSON that every client parses (`{"error":{"code","message","status"}}`).
 *
 * When to use which code follows Firestore (and firebase-js-sdk `src/util/error.ts`):
 * - INVALID_ARGUMENT: the request itself is malformed, whatever the database state.
 * - FAILED_PRECONDITION: the request is well-formed but the system is not in the state it needs
 *   (an `updateTime` precondition that does not match, a too-old `readTime`).
 * - ABORTED: a concurrency conflict; retrying the whole transaction is the right answer.
 * - NOT_FOUND / ALREADY_EXISTS: the `exists` preconditions, and unknown resources.
 */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type CodeName = keyof typeof Code;
export type CodeNumber = (typeof Code)[CodeName];

const NAMES = Object.fromEntries(Object.entries(Code).map(([k, v]) => [v, k])) as Record<number, CodeName>;

/** Google's standard HTTP mapping of gRPC codes (google/rpc/code.proto). */
const HTTP_STATUS: Record<CodeName, number> = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

/** The plain-data form of an error, safe to pass across Durable Object RPC. */
export interface StatusData {
  code: CodeNumber;
  message: string;
}

export class FirestoreError extends Error {
  override readonly name = "FirestoreError";
  constructor(
    readonly code: CodeNumber,
    message: string,
  ) {
    super(message);
  }

  get status(): CodeName {
    return codeName(this.code);
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }

  /** `google.rpc.Status` body as REST clients expect it. */
  toJSON(): { error: { code: number; message: string; status: CodeName } } {
    return { error: { code: this.httpStatus, message: this.message, status: this.status } };
  }

  toData(): StatusData {
    return { code: this.code, message: this.message };
  }

  static fromData(data: StatusData): FirestoreError {
    return new FirestoreError(data.code, data.message);
  }

  /**
   * The error a `google.rpc.Status` JSON body (`{"error": {code, message, status}}`, as `toJSON`
   * writes it) stands for: its code from `status`, UNKNOWN when that is missing or not a code
   * name; `fallback` when there is no message.
   */
  static fromJSON(body: unknown, fallback: string): FirestoreError {
    const error = (body as { error?: { message?: unknown; status?: unknown } } | null)?.error;
    const name = typeof error?.status === "string" ? error.status : "";
    const code = Object.hasOwn(Code, name) ? Code[name as CodeName] : Code.UNKNOWN;
    return new FirestoreError(code, typeof error?.message === "string" ? error.message : fallback);
  }
}

/** A caught error as a FirestoreError: itself, or INTERNAL naming what else was thrown. */
export function toFirestoreError(e: unknown): FirestoreError {
  return e instanceof FirestoreError ? e : new FirestoreError(Code.INTERNAL, `Internal error: ${String(e)}`);
}

export function codeName(code: number): CodeName {
  return NAMES[code] ?? "UNKNOWN";
}

export function httpStatusOf(code: number): number {
  return HTTP_STATUS[codeName(code)];
}

export const invalidArgument = (message: string) => new FirestoreError(Code.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new FirestoreError(Code.NOT_FOUND, message);
export const alreadyExists = (message: string) => new FirestoreError(Code.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) => new FirestoreError(Code.FAILED_PRECONDITION, message);
export const aborted = (message: string) => new FirestoreError(Code.ABORTED, message);
export const unimplemented = (message: string) => new FirestoreError(Code.UNIMPLEMENTED, message);
export const resourceExhausted = (message: string) => new FirestoreError(Code.RESOURCE_EXHAUSTED, message);
export const permissionDenied = (message: string) => new FirestoreError(Code.PERMISSION_DENIED, message);
export const unauthenticated = (message: string) => new FirestoreError(Code.UNAUTHENTICATED, message);

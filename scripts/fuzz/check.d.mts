/** Types of check.mjs for the TypeScript tests. */
export const HTTP_STATUS: Record<string, number>;

export function isRuntimeAnswer(res: { status: number; headers: Record<string, unknown>; body: Buffer }): boolean;

export function checkResponse(
  req: { method: string },
  res: { status: number; headers: Record<string, unknown>; body: Buffer },
): string[];

/** Types of run.mjs for the TypeScript tests (test/e2e/fuzz.test.ts). */
export interface FuzzViolation {
  kind: string;
  index?: number;
  problems: string[];
  request?: unknown;
  requests?: unknown[];
  response?: unknown;
  replay?: { seed: number; index: number };
}

export interface FuzzSummary {
  url: string;
  seed: number;
  project: string;
  requests: number;
  elapsedMs: number;
  byStatus: Record<string, number>;
  byCorpus: Record<string, number>;
  accepted: number;
  rejected: number;
  fiveXX: number;
  unimplemented: number;
  dropped: number;
  droppedKeptAlive: number;
  timeouts: number;
  unsendable: number;
  generatorErrors: number;
  runtimeAnswers: Record<string, number>;
  known: Record<string, { where: string; count: number; example: FuzzViolation }>;
  retriedResets: number;
  stateChecks: number;
  housekeeping: number;
  violations: FuzzViolation[];
  violationCount: number;
}

export function checkLocalUrl(url: string): { host: string; port: number };

export function runFuzz(opts: {
  url: string;
  requests: number;
  seed: number;
  lanes?: number;
  timeoutMs?: number;
  resetEvery?: number;
  verifyEvery?: number;
  maxViolations?: number;
  log?: (line: string) => void;
}): Promise<FuzzSummary>;

/** Starts one real server for the whole e2e run; tests read its address with `inject("serverUrl")`. */
import type { TestProject } from "vitest/node";
import { type RunningServer, startServer } from "../helpers/server.js";

let server: RunningServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startServer();
  project.provide("serverUrl", server.url);
  project.provide("serverPort", server.port);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    serverUrl: string;
    serverPort: number;
  }
}

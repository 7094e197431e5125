/** Worker entry: the Hono app and the Durable Object classes. */
import { createApp } from "./app.js";

export { DatabaseDO } from "../durable-objects/database/index.js";
export { RegistryDO } from "../durable-objects/registry/index.js";

export default createApp();

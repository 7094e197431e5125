/**
 * The security rules bundled with the Worker (scripts/rules-module.mjs writes the module, wrangler's
 * `[alias]` names it): the source of `firestore.rules` as it was at build time, or null.
 */
declare module "@flarestore/rules" {
  const source: string | null;
  export default source;
}

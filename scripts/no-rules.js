// The module `@flarestore/rules` of builds that bundle no rules: `npm start` and the benchmarks hand
// the project's rules to the Worker at start-up instead (scripts/build.mjs), and the workerd tests
// load their own through the emulator's endpoint.
export default null;

/** Local IMDS (IMDSv2 wire format) for tests, demos and benchmarks. */
export { startImdsEmulator, type ImdsEmulator, type ImdsEmulatorOptions, type ImdsRequestFilter } from "./server.js";
export {
  defaultImdsState,
  type ImdsEmulatorState,
  type ImdsFaultBurst,
  type ImdsFaults,
  type ImdsRequestRecord,
  type ImdsRole,
} from "./state.js";

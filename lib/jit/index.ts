/** TorchScript from TypeScript: `trace` records a module's forward with LibTorch's tracer. */
export { trace } from './trace';
export type { TraceOptions } from './trace';

/**
 * Whether a `tg.jit.trace` is running, for the reads that turn a tensor into a JavaScript value (`item`, `dataSync`,
 * `toArray`): the trace records such a value as a constant, as PyTorch's tracer warns for `.item()` in Python.
 */
let depth = 0;
let warned = false;
let reads: string[] | undefined;

/** Runs body with the trace flag set; with `collect`, value reads are pushed there instead of warned about. */
export function whileTracing<T>(body: () => T, collect?: string[]): T {
  depth++;
  warned = false;
  const outer = reads;
  reads = collect;
  try {
    return body();
  } finally {
    depth--;
    reads = outer;
  }
}

/** Emits one TracerWarning per trace when a traced forward reads values into JavaScript. */
export function noteValueRead(how: string): void {
  if (depth === 0) return;
  if (reads) {
    reads.push(how);
    return;
  }
  if (warned) return;
  warned = true;
  process.emitWarning(
    `${how} during jit.trace: the value is recorded as a constant, so the trace will not follow other inputs (a branch on it, or arithmetic with it, is frozen as taken on the example)`,
    { type: 'TracerWarning', code: 'TG_TRACE_VALUE_READ' },
  );
}

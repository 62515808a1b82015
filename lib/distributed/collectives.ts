/** Collectives on the default group, in place on the given tensors, as torch.distributed's (off the JS thread). */
import { binding } from '../native';
import { isTensor, type Tensor } from '../tensor';
import { noGrad } from '../autograd';
import { stack } from '../creation';
import { isFloatingDType } from '../dtype';
import { group, getWorldSize } from './process-group';

/** How allReduce combines the ranks' values. */
export type ReduceOp = 'sum' | 'avg' | 'product' | 'min' | 'max';

/** A collective's failure, with which collective and which rank saw it (Gloo's own message does not say). */
export async function named(fn: string, work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (e) {
    const err = e as Error;
    if (err && typeof err.message === 'string' && !err.message.startsWith(`distributed.${fn}`)) {
      const g = group();
      err.message = `distributed.${fn} on rank ${g.rank} of ${g.worldSize}: ${err.message.replace(/^distributed: /, '')} (another rank failed, left or timed out)`;
    }
    throw err;
  }
}

function checkTensor(t: unknown, fn: string, what = 'tensor'): Tensor {
  if (!isTensor(t)) throw new TypeError(`distributed.${fn}: expected a Tensor as ${what}`);
  return t;
}

/**
 * Combines `tensor` across ranks in place: afterwards every rank holds the sum (or average, product, min, max).
 * `avg` is a sum divided by the world size (Gloo has no average). The tensor must be a contiguous CPU tensor.
 * @example await tg.distributed.allReduce(grad, { op: 'avg' });
 */
export async function allReduce(tensor: Tensor, options: { op?: ReduceOp } = {}): Promise<void> {
  checkTensor(tensor, 'allReduce');
  const op = options.op ?? 'sum';
  if (!['sum', 'avg', 'product', 'min', 'max'].includes(op)) throw new TypeError(`distributed.allReduce: op must be 'sum', 'avg', 'product', 'min' or 'max', got ${JSON.stringify(op)}`);
  if (op === 'avg' && !isFloatingDType(tensor.dtype)) throw new TypeError(`distributed.allReduce: op 'avg' needs a floating-point tensor, got ${tensor.dtype} (use 'sum' and divide)`);
  await named('allReduce', binding.distAllReduce(group().id, tensor, op === 'avg' ? 'sum' : op));
  if (op === 'avg') noGrad(() => tensor.div_(getWorldSize()));
}

/** Copies rank `src`'s `tensor` into every rank's `tensor` (same shape and dtype on all ranks). */
export async function broadcast(tensor: Tensor, src = 0): Promise<void> {
  checkTensor(tensor, 'broadcast');
  if (!Number.isInteger(src)) throw new TypeError(`distributed.broadcast: src must be an integer rank, got ${JSON.stringify(src)}`);
  await named('broadcast', binding.distBroadcast(group().id, tensor, src));
}

/** Fills `outputs[r]` with rank r's `input` on every rank (outputs: one tensor per rank, each of input's shape and dtype). */
export async function allGather(outputs: Tensor[], input: Tensor): Promise<void> {
  if (!Array.isArray(outputs)) throw new TypeError('distributed.allGather: expected an array of output tensors');
  outputs.forEach((t, i) => checkTensor(t, 'allGather', `outputs[${i}]`));
  checkTensor(input, 'allGather', 'input');
  await named('allGather', binding.distAllGather(group().id, outputs, input));
}

/**
 * Reduces `inputs` (one tensor per rank, all of output's shape) across ranks and leaves in `output` this rank's part:
 * rank r gets the reduction of every rank's `inputs[r]`. On Gloo, an all-reduce of the concatenation.
 */
export async function reduceScatter(output: Tensor, inputs: Tensor[], options: { op?: ReduceOp } = {}): Promise<void> {
  checkTensor(output, 'reduceScatter', 'output');
  const world = getWorldSize();
  if (!Array.isArray(inputs) || inputs.length !== world) throw new RangeError(`distributed.reduceScatter: expected ${world} input tensors (one per rank), got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`);
  inputs.forEach((t, i) => {
    checkTensor(t, 'reduceScatter', `inputs[${i}]`);
    if (t.shape.join() !== output.shape.join()) throw new RangeError(`distributed.reduceScatter: inputs[${i}] has shape [${t.shape.join(', ')}], output [${output.shape.join(', ')}]`);
  });
  const flat = noGrad(() => stack(inputs, 0));  // stack's result is contiguous, as Gloo needs
  try {
    await allReduce(flat, options);
    noGrad(() => {
      const mine = flat.select(0, group().rank);
      output.copy_(mine);
      mine.dispose();
    });
  } finally {
    flat.dispose();
  }
}

/** Waits until every rank has reached this call. */
export async function barrier(): Promise<void> {
  await named('barrier', binding.distBarrier(group().id));
}

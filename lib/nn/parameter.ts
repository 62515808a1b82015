/** Names carried by parameter tensors, so optimizers can key their state by the model's dotted names. */
import type { Tensor } from '../tensor';

/** Symbol under which a parameter tensor records its dotted name in the model it was last listed from. */
export const PARAM_NAME: unique symbol = Symbol.for('torchgraft.paramName') as never;

/** The dotted name a parameter was last listed under (`hidden1.weight`), if any. */
export function parameterName(t: Tensor): string | undefined {
  return (t as unknown as Record<symbol, string | undefined>)[PARAM_NAME];
}

/** Records a parameter's dotted name. */
export function setParameterName(t: Tensor, name: string): void {
  (t as unknown as Record<symbol, string>)[PARAM_NAME] = name;
}

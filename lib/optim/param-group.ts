/** The view of one parameter group that `optimizer.paramGroups` lists: options readable and writable in place. */
import type { Tensor } from '../tensor';
import type { OptionSpecs } from './options';

/**
 * One parameter group: its parameters and their names (read-only), and its options. Setting an option
 * (`group.lr = 1e-4`, as LR schedulers do) checks it and applies it to this group only, from the next `step()`.
 */
export type ParamGroup<O> = O & {
  /** The group's parameters, in the order given. */
  readonly params: readonly Tensor[];
  /** The names the parameters' state is saved under in `stateDict()`, in the same order. */
  readonly names: readonly string[];
  /** The learning rate LR schedulers start from (PyTorch's `initial_lr`), set by the first scheduler attached. */
  initialLr?: number;
};

/** Builds a group view over `options`; `apply(key, value)` pushes a checked change to the native optimizer. */
export function makeParamGroup<O extends object>(
  params: Tensor[],
  names: string[],
  options: O,
  specs: OptionSpecs<O>,
  where: string,
  apply: (key: keyof O & string, value: unknown) => void,
): ParamGroup<O> {
  const current = options as Record<string, unknown>;
  const group = {} as Record<string, unknown>;
  Object.defineProperty(group, 'params', { value: Object.freeze([...params]), enumerable: true });
  Object.defineProperty(group, 'names', { value: Object.freeze([...names]), enumerable: true });
  for (const key of Object.keys(specs) as (keyof O & string)[]) {
    Object.defineProperty(group, key, {
      enumerable: true,
      // Arrays (betas) are handed out frozen: changing one takes an assignment, which is checked and applied.
      get: () => (Array.isArray(current[key]) ? Object.freeze([...(current[key] as unknown[])]) : current[key]),
      set: (value: unknown) => {
        specs[key].check(value, `${where}: ${key}`);
        apply(key, value);
        current[key] = Array.isArray(value) ? [...value] : value;
      },
    });
  }
  group.initialLr = undefined;
  return group as ParamGroup<O>;
}

/** An optimizer's state dict, keyed by parameter names, and the checks `loadStateDict` runs before changing anything. */
import { isTensor, Tensor } from '../tensor';
import type { OptionSpecs } from './options';

/** One parameter's state, entries named as in PyTorch's state_dict: `step` (a number), `exp_avg`, `momentum_buffer`, … */
export type ParamState = Record<string, Tensor | number>;

/** A group as saved: its options (camelCase, as the constructor takes them) and its parameters' names. */
export type SavedParamGroup = Record<string, unknown> & { params: string[] };

/**
 * What `optimizer.stateDict()` returns and `loadStateDict()` takes. Tensors are copies: dispose them (or
 * take the dict inside `tg.tidy`) when saved.
 */
export interface OptimizerStateDict {
  /** Per-parameter state by parameter name; a parameter with no state yet is absent. */
  state: Record<string, ParamState>;
  /** Each group's options and parameter names, in group order. */
  paramGroups: SavedParamGroup[];
}

/** Which state entries an optimizer keeps for a parameter. */
export interface StateEntries {
  required: readonly string[];
  optional: readonly string[];
}

/** Where each of an optimizer's parameters is. */
export interface ParamSlot {
  group: number;
  index: number;
  tensor: Tensor;
}

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

function listNames(names: Iterable<string>): string {
  const all = [...names];
  return all.length <= 8 ? all.join(', ') : `${all.slice(0, 8).join(', ')}, … (${all.length} in all)`;
}

/** Every problem of a state dict against an optimizer, one line each (empty when it can be loaded). */
export function stateDictProblems<O>(
  sd: unknown,
  slots: ReadonlyMap<string, ParamSlot>,
  groupNames: readonly (readonly string[])[],
  entries: StateEntries,
  specs: OptionSpecs<O>,
): string[] {
  const problems: string[] = [];
  if (sd === null || typeof sd !== 'object' || typeof (sd as OptimizerStateDict).state !== 'object' || (sd as OptimizerStateDict).state === null) {
    return ['expected { state, paramGroups } as stateDict() returns'];
  }
  const { state, paramGroups } = sd as OptimizerStateDict;
  const allowed = [...entries.required, ...entries.optional];
  for (const [name, ps] of Object.entries(state)) {
    const slot = slots.get(name);
    if (!slot) {
      problems.push(`parameter '${name}' is not in this optimizer (its parameters: ${listNames(slots.keys())})`);
      continue;
    }
    if (ps === null || typeof ps !== 'object') {
      problems.push(`'${name}': state must be an object of tensors`);
      continue;
    }
    for (const key of entries.required) {
      if ((ps as ParamState)[key] === undefined) problems.push(`'${name}': state entry '${key}' is missing`);
    }
    for (const [key, value] of Object.entries(ps)) {
      if (!allowed.includes(key)) {
        problems.push(`'${name}': unknown state entry '${key}' (this optimizer keeps ${allowed.join(', ')})`);
      } else if (key === 'step') {
        if (!(typeof value === 'number' || (isTensor(value) && value.numel === 1))) problems.push(`'${name}': state entry 'step' must be a number`);
      } else if (!isTensor(value)) {
        problems.push(`'${name}': state entry '${key}' is not a Tensor`);
      } else if (value.isDisposed) {
        problems.push(`'${name}': state entry '${key}' is a disposed Tensor`);
      } else if (shapeText(value.shape) !== shapeText(slot.tensor.shape)) {
        problems.push(`'${name}': state entry '${key}' has shape ${shapeText(value.shape)}, the parameter has shape ${shapeText(slot.tensor.shape)}`);
      }
    }
  }
  if (paramGroups === undefined) return problems;
  if (!Array.isArray(paramGroups)) return [...problems, 'paramGroups must be an array'];
  if (paramGroups.length !== groupNames.length) {
    problems.push(`the state dict has ${paramGroups.length} parameter groups, this optimizer has ${groupNames.length}`);
    return problems;
  }
  paramGroups.forEach((g, i) => {
    if (g === null || typeof g !== 'object' || !Array.isArray(g.params)) {
      problems.push(`paramGroups[${i}] must be { params: string[], ...options }`);
      return;
    }
    if (g.params.length !== groupNames[i].length) {
      problems.push(`paramGroups[${i}] has ${g.params.length} parameters, this optimizer's group ${i} has ${groupNames[i].length}`);
    }
    for (const name of g.params) {
      const slot = slots.get(name);
      if (!slot) problems.push(`paramGroups[${i}]: parameter '${name}' is not in this optimizer`);
      else if (slot.group !== i) problems.push(`paramGroups[${i}]: parameter '${name}' is in group ${slot.group} of this optimizer`);
    }
    for (const [key, value] of Object.entries(g)) {
      if (key === 'params' || key === 'initialLr') continue;
      if (!(key in specs)) {
        problems.push(`paramGroups[${i}]: unknown option '${key}'`);
        continue;
      }
      try {
        specs[key as keyof O].check(value, `paramGroups[${i}].${key}`);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  });
  return problems;
}

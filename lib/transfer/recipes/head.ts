/** Which parameters are the new head a recipe trains first. */
import type { Module } from '../../nn/module';
import { NamePattern, compilePattern } from '../../nn/pattern';
import { reusedHead } from '../reuse';
import { TorchError } from '../../errors';

/** The head: a pattern over dotted parameter names, or 'last' (the last top-level child with parameters). */
export type HeadPattern = NamePattern | 'last';

/**
 * A predicate on dotted parameter names selecting the head. Without a spec: the head `reuse` appended when it
 * built the model, else 'last'.
 * @throws TorchError `ERR_PATTERN_NO_MATCH` when the head selects no parameter, `ERR_LAYER_GROUPS` when it selects every parameter (nothing would be frozen).
 */
export function headMatcher(model: Module, head: HeadPattern | undefined, fn: string): (name: string) => boolean {
  let spec: NamePattern;
  if (head === undefined) {
    const names = reusedHead(model);
    spec = names && names.length ? names : 'last';
  } else spec = head;
  let match: (name: string) => boolean;
  if (spec === 'last') {
    const kids = model.namedChildren().filter(([, m]) => m.parameters().length > 0);
    if (!kids.length) throw new TorchError(`${fn}: the model has no child layer with parameters to train as its head`, { code: 'ERR_LAYER_GROUPS' });
    const last = kids[kids.length - 1][0];
    match = (n) => n.startsWith(last + '.');
  } else match = compilePattern(spec);
  const names = model.namedParameters().map(([n]) => n);
  const hits = names.filter(match).length;
  if (hits === 0) throw new TorchError(`${fn}: the head pattern selects no parameter; parameters: ${names.join(', ')}`, { code: 'ERR_PATTERN_NO_MATCH' });
  if (hits === names.length) throw new TorchError(`${fn}: the head pattern selects every parameter, so there is no pretrained base to freeze`, { code: 'ERR_LAYER_GROUPS' });
  return match;
}

/** resetClassifier: a fresh final Linear with another number of classes. */
import { Module, isModule } from '../nn/module';
import { Linear } from '../nn/layers/linear';
import { replaceModule } from '../nn/edit';
import { describe } from '../nn/paths';
import { TorchError } from '../errors';

// fc: ResNet; classifier: MobileNet, EfficientNet, ConvNeXt, DenseNet, VGG; heads: ViT; outputs, head: our own.
const CLASSIFIER_NAMES = ['fc', 'classifier', 'heads', 'outputs', 'head'];

/**
 * The dotted path of a model's final Linear: the top-level child `fc`, `classifier`, `heads`, `outputs` or `head` when it is
 * a Linear (or, for a container under that name, the last Linear inside it), else the last Linear in the tree.
 * @throws TorchError `ERR_MODULE_EDIT` when the model has no Linear.
 */
export function findClassifier(model: Module): string {
  const linears = model.namedModules().filter(([p, m]) => p !== '' && m instanceof Linear);
  for (const name of CLASSIFIER_NAMES) {
    const under = linears.filter(([p]) => p === name || p.startsWith(name + '.'));
    if (under.length) return under[under.length - 1][0];
  }
  if (!linears.length) throw new TorchError(`resetClassifier: ${model.constructor.name} has no Linear layer to replace`, { code: 'ERR_MODULE_EDIT' });
  return linears[linears.length - 1][0];
}

/** Options of resetClassifier. */
export interface ResetClassifierOptions {
  /** The path of the layer to replace, when it is not the one findClassifier picks. */
  path?: string;
}

/**
 * Replaces the model's final Linear (see findClassifier) by a fresh Linear(inFeatures, numClasses), newly
 * initialised, on the same device and dtype, with a bias when the old one had one. Updates a `numClasses`
 * property the model has (ResNet's). Returns the new layer; the old one is left as it was (it may be shared with
 * the pretrained model: dispose it yourself when it is not).
 * @throws RangeError for a numClasses that is not a positive integer; Error when the model has no Linear.
 * @example tg.transfer.resetClassifier(resnet, 10);   // resnet.fc: Linear(512, 10)
 */
export function resetClassifier(model: Module, numClasses: number, options: ResetClassifierOptions = {}): Linear {
  if (!isModule(model)) throw new TypeError(`resetClassifier: expected a tg.nn.Module, got ${describe(model)}`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`resetClassifier: numClasses must be a positive integer, got ${describe(numClasses)}`);
  const path = options.path ?? findClassifier(model);
  const old = model.get(path);
  if (!(old instanceof Linear)) throw new TypeError(`resetClassifier: '${path}' is a ${old.constructor.name}, not a Linear`);
  const fresh = new Linear(old.inFeatures, numClasses, { bias: old.bias !== null, device: old.weight.device, dtype: old.weight.dtype });
  replaceModule(model, path, fresh);
  const m = model as unknown as { numClasses?: unknown };
  // The model builders record their class count; keep it true to the new head (only when it is the model's own head).
  if (options.path === undefined && typeof m.numClasses === 'number') m.numClasses = numClasses;
  return fresh;
}

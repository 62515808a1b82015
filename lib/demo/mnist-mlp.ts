/** The textbook's network for the transfer demo: five hidden layers of 100 ELU units, He-initialised. */
import * as nn from '../nn';

/** Hidden layer names, lowest first: `hidden1` … `hidden5`. */
export const HIDDEN = ['hidden1', 'hidden2', 'hidden3', 'hidden4', 'hidden5'];

/** Builds hidden1..hidden{depth} (Linear + ELU) and a new `outputs` layer with `classes` logits. */
export function buildDnn(classes: number, depth = 5, width = 100, inputs = 784): nn.Sequential {
  const layers: Record<string, nn.Module> = {};
  let fanIn = inputs;
  for (let i = 1; i <= depth; i++) {
    const lin = new nn.Linear(fanIn, width);
    // He initialisation, as the textbook recommends for ELU
    nn.init.kaimingNormal_(lin.weight, { nonlinearity: 'relu' });
    nn.init.zeros_(lin.bias!);
    layers[`hidden${i}`] = lin;
    layers[`act${i}`] = new nn.ELU();
    fanIn = width;
  }
  layers.outputs = new nn.Linear(fanIn, classes);
  return new nn.Sequential(layers);
}

// Type-checks typical public API usage against the built declarations (dist/*.d.ts); compiled with --noEmit, never run.
import * as tg from '../../dist';

const F = tg.nn.functional;

export function typicalUse(): number {
  tg.manualSeed(42);
  const x: tg.Tensor = tg.tensor(new Float32Array(12), { shape: [3, 4], device: 'cpu' });
  const w = tg.randn([4, 2], { requiresGrad: true });
  const b = tg.zeros([2]);
  const dtype: tg.DType = x.dtype;
  const shape: number[] = x.shape;
  const device: string = x.device;

  const loss = tg.tidy(() => {
    const logits = x.matmul(w).add(b).relu();
    const target = tg.randint(0, 2, [3]);
    return F.crossEntropy(logits, target, { labelSmoothing: 0.1, reduction: 'mean' });
  });
  loss.backward();
  const g: tg.Tensor | undefined = w.grad;
  tg.noGrad(() => w.sub_(g!.mul(0.1)));
  const top: tg.ValuesIndices = x.max(1, true);
  const parts: tg.Tensor[] = x.split([1, 2]);
  const y = F.conv2d(tg.randn([1, 3, 8, 8]), tg.randn([4, 3, 3, 3]), null, { padding: 'same', stride: 1 });
  const pooled = F.adaptiveAvgPool2d(F.maxPool2d(y, 2), [1, 1]).flatten(1);
  const resized = F.interpolate(y, { scaleFactor: 2, mode: 'bilinear', alignCorners: false });
  const m: tg.MemoryInfo = tg.memory();
  const half = x.to({ dtype: 'float16' }).to('cpu');
  const info: string = String(half) + dtype + shape.length + device + top.indices.numel + parts.length + pooled.ndim + resized.numel;
  {
    using t = tg.ones([2]);
    t.add_(1);
  }
  const arr: unknown = x.toArray();
  const n: number = loss.item() + m.tensors + info.length + (arr === null ? 0 : 1);
  tg.dispose([x, w, b, loss, top, parts, y, pooled, resized, half]);
  if (!tg.cuda.isAvailable()) return n;
  return n + tg.cuda.deviceCount();
}

export async function reading(t: tg.Tensor): Promise<number> {
  const data = await t.data();
  return data.length + t.dataSync().length;
}

export function mistakes(t: tg.Tensor): void {
  // @ts-expect-error dtype names are checked: 'float99' is not a DType
  tg.zeros([2], { dtype: 'float99' });
  // @ts-expect-error shapes are arrays of numbers, not strings
  t.reshape('2x2');
  // @ts-expect-error a loss reduction must be 'mean', 'sum' or 'none'
  F.mseLoss(t, t, { reduction: 'avg' });
  // @ts-expect-error tidy() takes a function
  tg.tidy(t);
}

export async function featureCache(net: tg.nn.Module, ds: tg.data.TensorDataset, optimizer: tg.StepOptimizer): Promise<number> {
  const options: tg.transfer.CacheFeaturesOptions = { store: 'disk', dir: '.cache', dtype: 'float16', onStale: 'rebuild' };
  const cache: tg.transfer.FeatureCache = await tg.transfer.cacheFeatures(net, ds, options);
  await tg.fit(net, ds, { optimizer, loss: 'crossEntropy', cache });
  const changed: string[] = cache.changes();
  // @ts-expect-error store is 'memory', 'device' or 'disk'
  await tg.transfer.cacheFeatures(net, ds, { store: 'gpu' });
  return changed.length + cache.loader({ batchSize: 64, shuffle: true, seed: 1 }).batchSize;
}

export async function transferOptions(net: tg.nn.Module, ds: tg.data.TensorDataset): Promise<string> {
  await tg.transfer.cacheFeatures(net, ds, { upTo: 'features.15' });
  await tg.transfer.fineTune(net, ds, { loss: 'crossEntropy', cache: true, unfreeze: 2 });
  await tg.transfer.fineTune(net, ds, { loss: 'crossEntropy', cache: { store: 'disk', dir: '.cache' } });
  // @ts-expect-error unfreeze is a number of layer groups
  await tg.transfer.fineTune(net, ds, { loss: 'crossEntropy', unfreeze: 'top' });
  const report = net.loadStateDict({}, { strict: false });
  return report.table() + report.table(20) + String(report);
}

'use strict';
// ImageFolder + tg.transforms in worker threads against torchvision on the same files: example i of epoch e equals
// torchvision's pipeline on PIL's decoding after torch.manual_seed(tg.data.seedOf(seed, e, i)). Runs once tg.transforms
// has RandomResizedCrop (the transforms branch); skipped before.
const test = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');
const tg = require('..');
const { PYTHON, picture } = require('./helpers/images');

const T = tg.transforms;
const READY = typeof T.RandomResizedCrop === 'function' && typeof T.Compose === 'function';

test('ImageFolder with workers gives torchvision\'s augmented examples under the per-example seeds', { skip: !READY && 'tg.transforms has no RandomResizedCrop on this tree' }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-imgtf-'));
  try {
    for (let i = 0; i < 6; i++) {
      const dir = path.join(root, ['a', 'b'][i % 2]);
      fs.mkdirSync(dir, { recursive: true });
      await sharp(picture(50 + i, 40, i + 1), { raw: { width: 50 + i, height: 40, channels: 3 } }).png().toFile(path.join(dir, `${i}.png`));
    }
    const pipe = new T.Compose([new T.ToImageTensor(), new T.RandomResizedCrop(24, { antialias: true }), new T.RandomHorizontalFlip(), new T.ConvertImageDtype('float32'), new T.Normalize(T.IMAGENET_MEAN, T.IMAGENET_STD)]);
    const ds = new tg.data.ImageFolder(root, { transform: pipe });
    const loader = ds.loader({ batchSize: 6, seed: 11, workers: 2 });
    loader.setEpoch(3);
    let ours;
    for await (const [x, y] of loader) {
      ours = Array.from(x.dataSync());
      tg.dispose([x, y]);
    }
    const seeds = ds.samples.map((_, i) => tg.data.seedOf(11, 3, i));
    const py = `
import json, sys, torch, numpy as np
from PIL import Image
import torchvision.transforms as T
from torchvision.transforms.functional import pil_to_tensor
files, seeds = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pipe = T.Compose([T.RandomResizedCrop(24, antialias=True), T.RandomHorizontalFlip(), T.ConvertImageDtype(torch.float32), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
out = []
for f, s in zip(files, seeds):
    torch.manual_seed(s)
    out.append(pipe(pil_to_tensor(Image.open(f).convert('RGB'))))
sys.stdout.write(json.dumps(torch.stack(out).reshape(-1).tolist()))`;
    const want = JSON.parse(execFileSync(PYTHON, ['-c', py, JSON.stringify(ds.samples.map((s) => s[0])), JSON.stringify(seeds)], { encoding: 'utf8', maxBuffer: 64 << 20 }));
    assert.strictEqual(ours.length, want.length);
    let max = 0;
    for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(ours[i] - want[i]));
    assert.ok(max < 1e-4, `max difference ${max} from torchvision`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

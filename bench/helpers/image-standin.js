// A stand-in for tg.transforms' RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize, for
// bench/image-folder.js on a tree without tg.transforms' classes: the same work (crop, antialiased bilinear resize,
// flip, scale, normalise) with a simplified choice of the crop. Registered in the loader's workers through workerModules.
'use strict';
const tg = require('../..');

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

class BenchStandIn {
  apply(img) {
    return tg.tidy(() => {
      const { width: w, height: h } = img;
      const u = tg.rand([4]).dataSync();
      const area = w * h * (0.08 + 0.92 * u[0]);
      const ratio = Math.exp(Math.log(3 / 4) + (Math.log(4 / 3) - Math.log(3 / 4)) * u[1]);
      const cw = Math.max(1, Math.min(w, Math.round(Math.sqrt(area * ratio))));
      const ch = Math.max(1, Math.min(h, Math.round(Math.sqrt(area / ratio))));
      const top = Math.floor(u[2] * (h - ch + 1));
      const left = Math.floor(u[3] * (w - cw + 1));
      let x = tg.tensor(img.data, { shape: [h, w, 3], dtype: 'uint8' }).permute([2, 0, 1]).narrow(1, top, ch).narrow(2, left, cw).float().unsqueeze(0);
      x = tg.nn.functional.interpolate(x, { size: [224, 224], mode: 'bilinear', antialias: true }).squeeze(0);
      if (tg.rand([1]).item() < 0.5) x = x.flip([2]);
      return tg.transforms.normalize(x.div(255), MEAN, STD).contiguous();
    });
  }
  toJSON() {
    return { name: 'BenchStandIn' };
  }
}

tg.transforms.registerTransform('BenchStandIn', () => new BenchStandIn());
module.exports = { BenchStandIn };

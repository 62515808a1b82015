# The torchvision side of bench/image-folder.js: ImageFolder + DataLoader(num_workers) with the usual training pipeline.
# Usage: /usr/bin/python3 image_folder.py ROOT WORKERS EPOCHS BATCH -> one JSON object: seconds and images per epoch
import json
import sys
import time

import torch
import torchvision
from torchvision import transforms as T

root, workers, epochs, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
torch.set_num_threads(1)
pipe = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
ds = torchvision.datasets.ImageFolder(root, transform=pipe)
loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers)
out = {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'epochs': []}
for e in range(epochs):
    t0 = time.perf_counter()
    n = 0
    for x, y in loader:
        n += x.shape[0]
    out['epochs'].append({'seconds': time.perf_counter() - t0, 'images': n})
print(json.dumps(out))

# torchvision's side of bench/transforms.js: ms per image of the usual training pipeline on a 3x375x500 uint8 tensor,
# one thread. Prints one JSON line {uint8: ms, float: ms, torchvision}.
import json, sys, time
import torch
import torchvision
import torchvision.transforms as T

torch.set_num_threads(1)
n, warm = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
img = torch.randint(0, 256, (3, 375, 500), dtype=torch.uint8)
raw = img.permute(1, 2, 0).contiguous().numpy()
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
pipes = {
    # crop and flip the uint8 tensor, then convert: the tensor path's usual order
    'uint8': (T.Compose([T.RandomResizedCrop(224, antialias=True), T.RandomHorizontalFlip(),
                         T.ConvertImageDtype(torch.float32), T.Normalize(mean, std)]), img),
    # ToTensor on the decoded HWC bytes first, then the same on float
    'float': (T.Compose([T.ToTensor(), T.RandomResizedCrop(224, antialias=True), T.RandomHorizontalFlip(),
                         T.Normalize(mean, std)]), raw),
}
out = {'torchvision': torchvision.__version__, 'torch': torch.__version__}
for name, (pipe, x) in pipes.items():
    for _ in range(warm):
        pipe(x)
    t0 = time.perf_counter()
    for _ in range(n):
        pipe(x)
    out[name] = (time.perf_counter() - t0) * 1000 / n
print(json.dumps(out))

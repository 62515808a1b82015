/** tg.nn.models: ready-made architectures named as torchvision's, so their weights load by name. */
export { ResNet, BasicBlock, resnet18, resnet34 } from './resnet';
export type { ResNetOptions } from './resnet';

// Devices to run a suite on: always cpu, plus cuda when a GPU is present (skipped with a visible reason otherwise).
'use strict';
const tg = require('../..');

const cudaAvailable = tg.cuda.isAvailable();
const CUDA_SKIP = cudaAvailable ? false : 'no CUDA GPU on this machine (LibTorch ' + tg.buildInfo().torchVersion + (tg.buildInfo().cuda ? ', CUDA build' : ', CPU build') + ')';
const DEVICES = cudaAvailable ? ['cpu', 'cuda'] : ['cpu'];

module.exports = { cudaAvailable, CUDA_SKIP, DEVICES };

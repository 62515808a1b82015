// The fuzz targets, one per loader, in the order the campaign runs them.
'use strict';
const { pytorch, torchscript } = require('./zipped-pickles');
const { npy, npz } = require('./numpy');

module.exports = [pytorch, torchscript, require('./safetensors'), npy, npz, require('./hdf5'), require('./onnx'), require('./tfjs')];

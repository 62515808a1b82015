'use strict';
// Lets garbage of earlier tests finish dying before a test counts live tensors: tensors dropped without dispose() are
// freed by GC finalizers, which run when the event loop turns, so a count taken across an await would see them go.
const { binding } = require('../../dist/native.js');

require('node:v8').setFlagsFromString('--expose-gc');
const gc = require('node:vm').runInNewContext('gc'); // a GC on demand without a command-line flag

/** Decides the pending batch, collects, and turns the loop until no tensor is waiting for its finalizer. */
async function settleTensors() {
  binding.flushPending();
  for (let k = 0; k < 4; k++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

module.exports = { settleTensors };

'use strict';
// A Keras file whose local heap claims a data segment past the end of the file is refused before HDF5 reads it
// (HDF5 itself grew to gigabytes and took ~60 s on such a fuzz mutant).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { tg, fixture, tmpDir } = require('./helpers/foreign');

for (const field of ['size', 'address']) {
  test(`a local heap whose data segment ${field} lies past the file is ERR_HDF5, at once`, async (t) => {
    const bytes = fs.readFileSync(fixture('keras2_dscnn_wakeword.h5'));
    const at = bytes.indexOf(Buffer.from('HEAP\0\0\0\0', 'latin1'));
    assert.ok(at > 0, 'the fixture has a version 0 local heap');
    const bad = Buffer.from(bytes);
    bad.writeBigUInt64LE(field === 'size' ? 0x7fffffffn : 0x7fffffff00n, field === 'size' ? at + 8 : at + 24);
    const file = path.join(tmpDir(t), 'heap.h5');
    fs.writeFileSync(file, bad);
    const started = Date.now();
    await assert.rejects(tg.io.load(file), (e) => e instanceof tg.TorchError && e.code === 'ERR_HDF5' && /local heap/.test(e.message));
    assert.ok(Date.now() - started < 20_000, 'refused before HDF5 spends its time on it');
    // the untouched file still loads
    tg.dispose(await tg.io.load(fixture('keras2_dscnn_wakeword.h5')));
  });
}

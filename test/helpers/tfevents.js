'use strict';
// An event file's events as the independent Python reader (tfevents_reader.py, the standard library only) decodes them.
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const READER = path.join(__dirname, 'tfevents_reader.py');
const PYTHON = process.env.TORCHGRAFT_PYTHON || '/usr/bin/python3';

/** The events of `file`, one object per event, as JSON from the Python reader. */
const readPy = (file) => execFileSync(PYTHON, [READER, file], { encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l));

module.exports = { readPy };

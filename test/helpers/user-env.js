'use strict';
/** The environment of a user's shell: no npm_* settings inherited from `npm test`, no LD_LIBRARY_PATH/LD_PRELOAD, no TORCHGRAFT_* choice of the test runner. */
function userEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || k === 'LD_LIBRARY_PATH' || k === 'LD_PRELOAD' || k.startsWith('TORCHGRAFT_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

module.exports = { userEnv };

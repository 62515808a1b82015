// A fuzz child: loads the files its parent sends (over IPC) and answers with the outcome class, so that a crash or
// a hang ends this process and not the fuzzer. Answers: loaded, coded (TorchError with a code, TypeError,
// RangeError), uncoded (any other throw: a defect); each with this process's peak RSS and live tensor count.
'use strict';
const path = require('node:path');
const tg = require(path.resolve(__dirname, '..', '..'));

/** The outcome class of a thrown value. */
function classify(e) {
  if (e instanceof tg.TorchError && typeof e.code === 'string' && e.code) return 'coded';
  if (e instanceof TypeError || e instanceof RangeError) return 'coded';
  return 'uncoded';
}

async function loadOne(file, api) {
  if (api === 'loadTorchScript') {
    const m = await tg.io.loadTorchScript(file);
    m.dispose();
  } else tg.dispose(await tg.io.load(file));
}

const baseline = tg.memory().tensors;
process.on('message', async ({ id, file, api }) => {
  let reply;
  try {
    await loadOne(file, api);
    reply = { outcome: 'loaded' };
  } catch (e) {
    const outcome = classify(e);
    reply = { outcome, name: e?.name, code: e?.code, message: String(e?.message ?? e).slice(0, 400), stack: outcome === 'uncoded' ? String(e?.stack).slice(0, 1500) : undefined };
  }
  reply.id = id;
  reply.rssKb = process.resourceUsage().maxRSS;
  reply.leaked = tg.memory().tensors - baseline;
  process.send(reply);
});
process.send({ ready: true });

// Extracts the README's fenced code blocks with the `<!-- readme-test: ... -->` marker written right before each.
'use strict';

const RUNNABLE = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);
const KEYS = new Set(['fixture', 'skip', 'reason', 'continues', 'timeout', 'launch']);

/**
 * Parses one marker's body: `fixture=a,b continues timeout=90 launch=2 skip reason="needs a GPU"`.
 * Unknown keys throw, so a misspelt marker fails the test instead of being ignored.
 */
function parseMarker(body, line) {
  const out = { fixtures: [], skip: false, reason: undefined, continues: false, timeout: undefined, launch: undefined };
  const re = /([a-z]+)(?:=(?:"([^"]*)"|(\S+)))?/g;
  let m;
  while ((m = re.exec(body))) {
    const [, key, quoted, bare] = m;
    const value = quoted ?? bare;
    if (!KEYS.has(key)) throw new Error(`README line ${line}: unknown readme-test key '${key}'`);
    if (key === 'fixture') out.fixtures.push(...String(value ?? '').split(',').filter(Boolean));
    else if (key === 'skip') out.skip = true;
    else if (key === 'continues') out.continues = true;
    else if (key === 'reason') out.reason = value;
    else if (key === 'timeout') out.timeout = Number(value);
    else if (key === 'launch') out.launch = Number(value);
  }
  for (const k of ['timeout', 'launch'])
    if (out[k] !== undefined && !(Number.isInteger(out[k]) && out[k] > 0)) throw new Error(`README line ${line}: ${k} must be a positive integer`);
  if (out.skip && !out.reason) throw new Error(`README line ${line}: a skipped block needs reason="..."`);
  return out;
}

/**
 * Every fenced block of `markdown`: { lang, code, line (of the opening fence, 1-based), heading (the section it is
 * in), runnable (a JS/TS block), marker }.
 */
function readmeBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const h = /^#{1,6}\s+(.*)$/.exec(lines[i]);
    if (h) heading = h[1].trim();
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    let j = start - 1;
    while (j >= 0 && lines[j].trim() === '') j--;
    const mk = j >= 0 ? /^<!--\s*readme-test:(.*?)-->\s*$/.exec(lines[j].trim()) : null;
    const lang = open[1].toLowerCase();
    blocks.push({
      lang,
      code: body.join('\n') + '\n',
      line: start + 1,
      heading,
      runnable: RUNNABLE.has(lang),
      marker: mk ? parseMarker(mk[1], j + 1) : parseMarker('', j + 1),
    });
  }
  return blocks;
}

module.exports = { readmeBlocks, parseMarker };

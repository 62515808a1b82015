// Builds one folder's StrykerJS options from the base stryker.config.json: its mutate globs, its focused test files,
// and its own incremental and report files, so that folders can be run (and re-run) one at a time on a small machine.
import fs from 'node:fs';

const base = JSON.parse(fs.readFileSync(new URL('../stryker.config.json', import.meta.url), 'utf8'));

/**
 * The options for one folder: `mutate` and `testFiles` replace the base's; the TypeScript checker is left out
 * (on 2 shared cores it cost more than the mutants it dropped), and results go to reports/stryker-<name>.json and
 * reports/mutation/<name>.{html,json}. `MUTATE_CONCURRENCY` overrides the base's concurrency; `MUTATE_TEST_FILES`
 * (comma-separated globs) narrows the test files, for a run over a few files with `--mutate`; `MUTATE_TIMEOUT_MS` overrides
 * the base's timeoutMS (the time a mutant gets beyond twice its tests' usual time before it counts as timed out);
 * `MUTATE_NAME` names the run's incremental and report files instead of the folder (a folder run in parts, one
 * `--mutate` set each, keeps one report per part).
 * @param {string} folder the folder's short name (optim, transfer, train, cache)
 * @param {{ mutate: string[], testFiles: string[] }} parts
 */
export function folderConfig(folder, { mutate, testFiles }) {
  const name = process.env.MUTATE_NAME || folder;
  const rest = { ...base };
  delete rest.$schema;
  return {
    ...rest,
    mutate: [...mutate, '!lib/**/*.d.ts'],
    tap: { ...base.tap, testFiles: process.env.MUTATE_TEST_FILES ? process.env.MUTATE_TEST_FILES.split(',') : testFiles },
    checkers: [],
    concurrency: Number(process.env.MUTATE_CONCURRENCY) || base.concurrency,
    appendPlugins: ['./stryker/survivor-log.mjs'],
    reporters: [...base.reporters, 'survivor-log'],
    timeoutMS: Number(process.env.MUTATE_TIMEOUT_MS) || base.timeoutMS,
    incrementalFile: `reports/stryker-${name}.json`,
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
  };
}

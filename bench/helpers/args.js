'use strict';
// The benchmarks' command line: `--name value` pairs read by name, with a fallback when absent.

/** The value after `--name` on the command line, or `fallback`. */
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

module.exports = { arg };

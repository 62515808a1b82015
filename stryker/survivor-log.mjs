// A StrykerJS reporter that appends each surviving or uncovered mutant to reports/survivors-<run>.txt (the run named
// as its incremental file is) as it is tested, so that tests for the first survivors can be written while a long run
// goes on.
import fs from 'node:fs';
import path from 'node:path';
import { PluginKind, declareClassPlugin } from '@stryker-mutator/api/plugin';

class SurvivorLog {
  static inject = ['options'];

  constructor(options) {
    const run = path.basename(options.incrementalFile, '.json').replace(/^stryker-/, '');
    this.file = path.resolve('reports', `survivors-${run}.txt`);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, '');
  }

  onMutantTested(result) {
    if (result.status !== 'Survived' && result.status !== 'NoCoverage') return;
    const { line, column } = result.location.start;
    const where = `${path.relative(process.cwd(), result.fileName)}:${line}:${column}`;
    const replacement = result.replacement.replace(/\s+/g, ' ').slice(0, 160);
    fs.appendFileSync(this.file, `${where} ${result.status} ${result.mutatorName}: ${replacement}\n`);
  }
}

export const strykerPlugins = [declareClassPlugin(PluginKind.Reporter, 'survivor-log', SurvivorLog)];

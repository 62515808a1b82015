/** `torchgraft zoo list|show NAME|add FILE --name N|remove NAME`: the model catalog from the command line. */
import * as zooApi from '../zoo';
import { UsageError, parseCommand } from './args';

const USAGE = `usage: torchgraft zoo list|show NAME[@VERSION]|remove NAME[@VERSION] [--dir DIR]
       torchgraft zoo add FILE --name N [--version V] [--task T] [--tag T]... [--parent N@V] [--dir DIR]

  list                 every entry: name@version, task, parameter count, tags, parent
  show NAME[@VERSION]  an entry's card (JSON), lineage and module structure
  add FILE --name N    import any file torchgraft io.load reads, as N (next version unless --version)
  remove NAME[@VERSION]
                       delete one version, or every version of NAME

options:
  --dir DIR     the catalog folder (default $TORCHGRAFT_ZOO, else ~/.torchgraft/zoo)
  --name, --version, --task, --tag (repeatable), --parent   the card's fields, for add
  -h, --help    this text`;

const OPTIONS = {
  dir: { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  task: { type: 'string' },
  tag: { type: 'string', multiple: true },
  parent: { type: 'string' },
} as const;

// How many positionals each subcommand takes after its name, and which add-only flags it refuses.
const ARITY: Record<string, number> = { list: 0, show: 1, add: 1, remove: 1 };

/** Runs the zoo command; returns the exit code. */
export async function zooCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('zoo', argv, OPTIONS, USAGE);
  const [sub, ...rest] = positionals;
  if (values.help || sub === 'help') return (console.log(USAGE), 0);
  if (sub === undefined) throw new UsageError('zoo', 'no subcommand given (list, show, add or remove)', USAGE);
  if (!Object.hasOwn(ARITY, sub)) throw new UsageError('zoo', `unknown subcommand '${sub}'`, USAGE);
  if (rest.length !== ARITY[sub]) {
    throw new UsageError('zoo', rest.length > ARITY[sub] ? `unexpected argument '${rest[ARITY[sub]]}'` : `${sub} needs ${sub === 'add' ? 'a FILE' : 'a NAME'}`, USAGE);
  }
  const cardFlags = (['name', 'version', 'task', 'tag', 'parent'] as const).filter((k) => values[k] !== undefined);
  if (sub !== 'add' && cardFlags.length) throw new UsageError('zoo', `--${cardFlags[0]} applies to add only`, USAGE);
  if (sub === 'add' && values.name === undefined) throw new UsageError('zoo', 'add needs --name', USAGE);

  try {
    return await zooDo(sub, rest[0], values);
  } catch (e) {
    console.error(`torchgraft zoo: ${(e as Error).message}`);
    return 1;
  }
}

async function zooDo(sub: string, arg: string, values: { dir?: string; name?: string; version?: string; task?: string; tag?: string[]; parent?: string }): Promise<number> {
  const zoo = await zooApi.open(values.dir);
  switch (sub) {
    case 'list': {
      const cards = await zoo.list();
      if (cards.length === 0) console.log(`(empty: ${zoo.dir})`);
      for (const c of cards) console.log(`${c.name}@${c.version}\t${c.task ?? '-'}\t${c.parameterCount} params\t${(c.tags ?? []).join(',')}${c.parent ? `\tfrom ${c.parent}` : ''}`);
      return 0;
    }
    case 'show': {
      const card = await zoo.card(arg);
      console.log(JSON.stringify(card, null, 2));
      const lineage = await zoo.lineage(`${card.name}@${card.version}`);
      if (lineage.length > 1) console.log(`lineage: ${lineage.map((c) => `${c.name}@${c.version}`).join(' <- ')}`);
      console.log(await zoo.structure(`${card.name}@${card.version}`));
      return 0;
    }
    case 'add': {
      const card = await zoo.importFile(arg, { name: values.name!, version: values.version, task: values.task, tags: values.tag, parent: values.parent });
      console.log(`added ${card.name}@${card.version} (${card.tensorCount} tensors, ${card.parameterCount} values, sha256 ${card.sha256.slice(0, 12)})`);
      return 0;
    }
    default: {
      for (const r of await zoo.remove(arg)) console.log(`removed ${r}`);
      return 0;
    }
  }
}

/** `torchgraft zoo list|show NAME|add FILE --name N|remove NAME`: the model catalog from the command line. */
import * as zooApi from '../zoo';

const USAGE = `usage: torchgraft zoo <list|show NAME[@VERSION]|add FILE --name N [--version V] [--task T] [--tag T]... [--parent N@V]|remove NAME[@VERSION]> [--dir DIR]

The catalog is in --dir, else $TORCHGRAFT_ZOO, else ~/.torchgraft/zoo. add imports any file torchgraft io.load reads.`;

function takeFlags(args: string[]): { rest: string[]; flags: Record<string, string[]> } {
  const rest: string[] = [];
  const flags: Record<string, string[]> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      const [k, inline] = a.slice(2).split('=', 2);
      const v = inline ?? args[++i];
      if (v === undefined) throw new TypeError(`zoo: --${k} needs a value`);
      (flags[k] ??= []).push(v);
    } else rest.push(a);
  }
  return { rest, flags };
}

/** Runs the zoo command; returns the exit code. */
export async function zooCommand(argv: string[]): Promise<number> {
  const [sub, ...more] = argv;
  if (!sub || sub === 'help' || sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return sub ? 0 : 1;
  }
  const { rest, flags } = takeFlags(more);
  const zoo = await zooApi.open(flags.dir?.[0]);
  switch (sub) {
    case 'list': {
      const cards = await zoo.list();
      if (cards.length === 0) console.log(`(empty: ${zoo.dir})`);
      for (const c of cards) console.log(`${c.name}@${c.version}\t${c.task ?? '-'}\t${c.parameterCount} params\t${(c.tags ?? []).join(',')}${c.parent ? `\tfrom ${c.parent}` : ''}`);
      return 0;
    }
    case 'show': {
      if (!rest[0]) break;
      const card = await zoo.card(rest[0]);
      console.log(JSON.stringify(card, null, 2));
      const lineage = await zoo.lineage(`${card.name}@${card.version}`);
      if (lineage.length > 1) console.log(`lineage: ${lineage.map((c) => `${c.name}@${c.version}`).join(' <- ')}`);
      console.log(await zoo.structure(`${card.name}@${card.version}`));
      return 0;
    }
    case 'add': {
      if (!rest[0] || !flags.name) break;
      const card = await zoo.importFile(rest[0], {
        name: flags.name[0], version: flags.version?.[0], task: flags.task?.[0], tags: flags.tag, parent: flags.parent?.[0],
      });
      console.log(`added ${card.name}@${card.version} (${card.tensorCount} tensors, ${card.parameterCount} values, sha256 ${card.sha256.slice(0, 12)})`);
      return 0;
    }
    case 'remove': {
      if (!rest[0]) break;
      for (const r of await zoo.remove(rest[0])) console.log(`removed ${r}`);
      return 0;
    }
  }
  console.error(USAGE);
  return 1;
}

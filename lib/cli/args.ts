/**
 * The command line's one argument parser (node's `util.parseArgs`, strict) and its usage errors: a bad flag or
 * argument is a `UsageError`, which main prints as one line plus the command's synopsis and exits with code 2.
 */
import { parseArgs } from 'node:util';

/** A bad command line: `main` prints `torchgraft <command>: <message>`, the synopsis and a --help hint; exit code 2. */
export class UsageError extends TypeError {
  /** The command whose usage was broken ('' for the top level). */
  readonly command: string;
  /** The command's first usage line(s), printed under the message. */
  readonly synopsis: string;

  constructor(command: string, message: string, usage: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
    this.synopsis = usage.split('\n\n')[0];
  }
}

type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;
type Help = { help: { type: 'boolean'; short: 'h' } };
/** What parseCommand returns for `options`: typed values (plus `help`) and the positionals. */
export type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O & Help; allowPositionals: true; strict: true }>>;

/** parseArgs' message without its advice paragraph (the usage printed below says the same). */
function firstSentence(message: string): string {
  const cut = message.search(/\. (To |Did you )/);
  const first = (cut > 0 ? message.slice(0, cut) : message).replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/**
 * Parses `argv` strictly with `options` plus `--help`/`-h`; positionals are allowed. Unknown flags, missing values
 * and flags given a value they do not take become a UsageError for `command` with `usage`.
 */
export function parseCommand<O extends Options>(command: string, argv: string[], options: O, usage: string): Parsed<O> {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } } as O & Help, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(command, firstSentence((e as Error).message), usage);
  }
}

/** The message `main` prints for a UsageError (three lines: the problem, the synopsis, the --help hint). */
export function usageErrorText(e: UsageError): string {
  const who = e.command ? `torchgraft ${e.command}` : 'torchgraft';
  return `${who}: ${e.message}\n${e.synopsis}\nRun '${who} --help' for more.`;
}

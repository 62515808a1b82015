/**
 * `torchgraft run --nproc-per-node N script.js [args]`: starts N ranks of a script on this machine with torchrun's
 * environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), forwards SIGINT/SIGTERM,
 * and when one rank fails stops the others and exits with that rank's code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { UsageError, parseCommand } from './args';

const USAGE = `usage: torchgraft run [--nproc-per-node N] [--master-addr HOST] [--master-port PORT] script.js [args...]

Starts N processes of script.js (default N = 1) with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and
MASTER_PORT set, as torchrun does for one node; tg.distributed.init() reads them. If a rank exits with an error, the
others are stopped and the launcher exits with that rank's code.`;

/** A TCP port free on `host` right now (the launcher's default master port; tests and benchmarks use it too). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 29500));
    });
  });
}

/** Exit code of a child that ended: its code, or 128 + the signal's number as shells report it. */
function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15, SIGABRT: 6 };
  return 128 + (signal ? numbers[signal] ?? 1 : 1);
}

const OPTIONS = { 'nproc-per-node': { type: 'string' }, 'master-addr': { type: 'string' }, 'master-port': { type: 'string' } } as const;

/**
 * Splits the command line at the script: the launcher's options come before it, everything after it is the
 * script's own (even flags torchgraft also has). `--` ends the launcher's options too.
 */
function splitAtScript(argv: string[]): { own: string[]; script?: string; scriptArgs: string[] } {
  // non-strict here only to find where the script starts; the launcher's part is parsed strictly after
  const { tokens } = parseArgs({ args: argv, options: { ...OPTIONS, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: false, tokens: true });
  const first = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
  if (!first) return { own: argv, scriptArgs: [] };
  const at = first.kind === 'positional' ? first.index : first.index + 1;
  return { own: argv.slice(0, first.index), script: argv[at], scriptArgs: argv.slice(at + 1) };
}

/** Runs the launcher; resolves with the exit code. */
export async function runCommand(argv: string[]): Promise<number> {
  const { own, script, scriptArgs } = splitAtScript(argv);
  const { values } = parseCommand('run', own, OPTIONS, USAGE);
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!script) throw new UsageError('run', 'no script given', USAGE);
  const n = Number(values['nproc-per-node'] ?? '1');
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new UsageError('run', `--nproc-per-node must be an integer from 1 to 1024, got '${values['nproc-per-node']}'`, USAGE);
  }
  const host = values['master-addr'] ?? '127.0.0.1';
  const port = values['master-port'] !== undefined ? Number(values['master-port']) : await freePort(host);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError('run', `--master-port must be a port number, got '${values['master-port']}'`, USAGE);
  const children: ChildProcess[] = [];
  let failed: number | null = null;
  const stopAll = (signal: NodeJS.Signals) => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill(signal));
  const onSignal = (signal: NodeJS.Signals) => stopAll(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const ended = Array.from({ length: n }, (_, rank) => new Promise<number>((resolve) => {
      const env = { ...process.env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(n), LOCAL_WORLD_SIZE: String(n), MASTER_ADDR: host, MASTER_PORT: String(port) };
      const child = spawn(process.execPath, [script, ...scriptArgs], { env, stdio: 'inherit' });
      children.push(child);
      child.on('error', (e) => {
        console.error(`torchgraft run: rank ${rank} could not start: ${e.message}`);
        resolve(1);
      });
      child.on('exit', (code, signal) => {
        const status = exitCodeOf(code, signal);
        if (status !== 0 && failed === null) {
          failed = status;
          console.error(`torchgraft run: rank ${rank} exited with ${signal ?? `code ${code}`}; stopping the other ranks`);
          stopAll('SIGTERM');
        }
        resolve(status);
      });
    }));
    const codes = await Promise.all(ended);
    return failed ?? codes.find((c) => c !== 0) ?? 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

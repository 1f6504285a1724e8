/**
 * The `clip-senet` command: one subcommand per entry of {@link commands} below (`clip-senet --help` lists them),
 * each a thin wrapper over the packages. Run with `npx clip-senet <command> ...` from the repository root (the
 * package bin, experiments/bin/clip-senet.mjs) or `npx tsx experiments/src/cli.ts <command> ...`.
 */
import { pathToFileURL } from 'node:url';
import { UsageError, type Command, type CommandIo } from './command';
import { ablationCommand } from './commands/ablation';
import { evalCommand } from './commands/eval';
import { exportCommand } from './commands/export';
import { extractCommand } from './commands/extract';
import { paperTablesCommand } from './commands/paper-tables';
import { pretrainSemCommand } from './commands/pretrain-sem';
import { reportCommand } from './commands/report';
import { synthCommand } from './commands/synth';
import { trainCommand } from './commands/train';
import { watchParent } from './parent-watch';

/** Every subcommand, in help order. */
export const commands: readonly Command[] = [ablationCommand, synthCommand, trainCommand, evalCommand, extractCommand, exportCommand, pretrainSemCommand, reportCommand, paperTablesCommand];

function topUsage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: clip-senet <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'clip-senet <command> --help' for a command's options.`;
}

const stdio: CommandIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Run the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CommandIo = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(`${topUsage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`clip-senet: unknown command '${name}'\n\n${topUsage()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${command.usage}\n`);
    return 0;
  }
  try {
    await command.run(rest, io);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n\n${command.usage}\n`);
      return 2;
    }
    io.err(`clip-senet ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  watchParent();
  process.exitCode = await main(process.argv.slice(2));
}

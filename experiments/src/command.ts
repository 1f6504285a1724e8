/** The shape of a `clip-senet` subcommand and shared argument parsing (node:util `parseArgs`). */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Where a command writes. */
export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** One subcommand: its usage text and what it does with its arguments. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Runs the command; `initBackend` has not been called (commands that need tf call `prepareBackend`). */
  run(args: readonly string[], io: CommandIo): Promise<void>;
}

/** A wrong command line (exit code 2, usage hint). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `parseArgs` in strict mode; unknown options and positionals become {@link UsageError}s. */
export function parseCommandArgs<O extends Options>(command: string, args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(`clip-senet ${command}: ${(err as Error).message}`);
  }
}

/** A required string option. */
export function required(command: string, value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`clip-senet ${command}: ${flag} is required`);
  return value;
}

/** An optional positive-integer option. */
export function positiveInt(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`clip-senet ${command}: ${flag} must be a positive integer, got '${value}'`);
  return n;
}

/** An optional non-negative-integer option (an index). */
export function nonNegativeInt(command: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`clip-senet ${command}: ${flag} must be a non-negative integer, got '${value}'`);
  return n;
}

/**
 * The one config identity: the YAML text of a resolved config plus the SHA-256 digests of the inputs it reads (weights
 * files, a vocabulary), hashed. A run folder's name, its checkpoints' `configHash` and the SEM pretraining's
 * checkpoints all use it, so "is this the same config?" has one answer everywhere.
 */
import { createHash } from 'node:crypto';
import { stringifyConfig } from './config';

/** Hex digits of a config key. */
export const CONFIG_KEY_DIGITS = 12;

/** A config's identity: its YAML text, its inputs' digests, and the key over both. */
export interface ConfigIdentity {
  /** {@link stringifyConfig} of the config (what a run's `resolved-config.yaml` holds). */
  readonly text: string;
  /** Input name → SHA-256 (hex) of its bytes (`missing` for an absent file). */
  readonly inputs: Readonly<Record<string, string>>;
  /** First {@link CONFIG_KEY_DIGITS} hex digits of SHA-256 of `text` followed by one `# input <name> sha256 <digest>` line per input. */
  readonly key: string;
}

/** SHA-256 (hex) of a text or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The identity of `config` with the digests of the inputs it reads (see {@link ConfigIdentity}). */
export function configIdentity(config: unknown, inputs: Readonly<Record<string, string>> = {}): ConfigIdentity {
  const text = stringifyConfig(config);
  const lines = Object.entries(inputs).map(([name, digest]) => `# input ${name} sha256 ${digest}\n`);
  return { text, inputs, key: sha256Hex(text + lines.join('')).slice(0, CONFIG_KEY_DIGITS) };
}

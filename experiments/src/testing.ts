/** Test helpers of the experiments project. */
import { join } from 'node:path';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadExperimentConfig, type ExperimentConfig } from './config';

/** Validate YAML text with the experiment schema (through a temporary file, as the CLI reads it). */
export function parseConfigText(text: string): ExperimentConfig {
  const dir = mkdtempSync(join(tmpdir(), 'clip-senet-config-'));
  try {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, text);
    return loadExperimentConfig(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

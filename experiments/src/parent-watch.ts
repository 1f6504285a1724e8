/**
 * Orphan protection for trainers started by the ablation runner: when `CLIP_SENET_PARENT_PID` is set and that
 * process goes away (the runner was killed, even by SIGKILL), this process sends itself SIGTERM, so training
 * stops at the next step with a checkpoint (the train loop's signal handling) and a rerun resumes it.
 */

/** Environment variable naming the parent to watch. */
export const PARENT_PID_ENV = 'CLIP_SENET_PARENT_PID';

/** Start watching (no-op when the variable is unset); the timer does not keep the process alive. */
export function watchParent(env: NodeJS.ProcessEnv = process.env, intervalMs = 1000): void {
  const raw = env[PARENT_PID_ENV];
  if (raw === undefined || raw === '') return;
  const parent = Number(raw);
  if (!Number.isInteger(parent) || parent <= 0) throw new Error(`${PARENT_PID_ENV} must be a process id, got '${raw}'`);
  const timer = setInterval(() => {
    let alive = process.ppid === parent;
    if (alive) {
      try {
        process.kill(parent, 0);
      } catch {
        alive = false;
      }
    }
    if (!alive) {
      clearInterval(timer);
      process.stderr.write(`parent process ${parent} is gone: stopping with a checkpoint\n`);
      process.kill(process.pid, 'SIGTERM');
    }
  }, intervalMs);
  timer.unref();
}

/**
 * Tensor leak checks: run a call and compare `tf.memory().numTensors` before and after. Used by the packages' tests
 * in place of a hand-rolled `before = numTensors; …; expect(numTensors).toBe(before)`. Node-free (only tfjs): the
 * browser entry point exports it too.
 *
 * The count is the tfjs engine's count of live tensors (variables included), across backends. A result that holds
 * tensors the caller must dispose counts as left behind: pass their number as `allow`, or check calls whose result is
 * tensor-free (host arrays, numbers) or dispose inside the checked function.
 */
import { tf } from './tf';

export interface LeakCheckOptions {
  /**
   * How many tensors the call is expected to leave alive (for instance the tensors it returns): the count after the
   * call must be exactly `before + allow`. A non-negative integer; default 0.
   */
  readonly allow?: number;
}

function allowed(options: LeakCheckOptions | undefined): number {
  const allow = options?.allow ?? 0;
  if (!Number.isInteger(allow) || allow < 0) throw new RangeError(`expectNoLeaks: allow must be a non-negative integer, got ${allow}`);
  return allow;
}

/** Throws when the tensor count moved from `before` to `after` other than by exactly `allow`. */
function check(before: number, after: number, allow: number, what: string | undefined): void {
  const expected = before + allow;
  if (after === expected) return;
  const call = what ?? 'the call';
  const counts = allow === 0 ? `${before} before, ${after} after` : `${before} before, ${after} after, ${allow} allowed`;
  if (after > expected) {
    const n = after - expected;
    throw new Error(allow === 0 ? `${call} leaked ${n} tensor(s) (${counts})` : `${call} leaked ${n} tensor(s) beyond the ${allow} allowed (${counts})`);
  }
  if (after < before) throw new Error(`${call} disposed ${before - after} tensor(s) it did not create (${counts})`);
  throw new Error(`${call} left ${after - before} tensor(s), not the ${allow} allowed (${counts})`);
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';

/**
 * Runs `fn` (awaiting it) and returns its result; throws when it changed the number of live tensors — more after
 * ("`what` leaked N tensor(s) (B before, A after)") or fewer ("`what` disposed N tensor(s) it did not create") —
 * unless by exactly `options.allow`. When `fn` throws or rejects, its error is rethrown unchanged (no count check).
 * `what` names the call in the message (default "the call").
 */
export async function expectNoLeaks<T>(fn: () => T | Promise<T>, what?: string, options?: LeakCheckOptions): Promise<T> {
  const allow = allowed(options);
  const before = tf.memory().numTensors;
  const result = await fn();
  check(before, tf.memory().numTensors, allow, what);
  return result;
}

/**
 * `expectNoLeaks` for a synchronous `fn`: runs it, returns its result, throws on a changed tensor count. A `fn`
 * that returns a promise is refused (the count would be taken before it settles): use `expectNoLeaks`.
 */
export function expectNoLeaksSync<T>(fn: () => T, what?: string, options?: LeakCheckOptions): T {
  const allow = allowed(options);
  const before = tf.memory().numTensors;
  const result = fn();
  if (isThenable(result)) {
    result.then(undefined, () => undefined); // its eventual rejection is not an unhandled one: the TypeError reports the misuse
    throw new TypeError(`expectNoLeaksSync: ${what ?? 'the call'} returned a promise; the tensor count would be read before it settles — use expectNoLeaks`);
  }
  check(before, tf.memory().numTensors, allow, what);
  return result;
}

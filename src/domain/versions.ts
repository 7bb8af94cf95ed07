import { VersionMismatch } from './errors';

/**
 * An optimistic-concurrency condition: one expected version, any of several (SCIM If-Match with
 * a list of ETags), or undefined for "no condition".
 */
export type VersionCondition = number | readonly number[] | undefined;

/** Throws VersionMismatch unless the stored version satisfies the condition. */
export function assertVersion(condition: VersionCondition, actual: number): void {
  if (condition === undefined) return;
  const ok = typeof condition === 'number' ? condition === actual : condition.includes(actual);
  if (!ok) throw new VersionMismatch(typeof condition === 'number' ? condition : (condition[0] ?? -1), actual);
}

/**
 * The rights a token may carry. The spec's `security` requirements name them; a list of
 * requirement objects means any one of them suffices, and within one object all are needed.
 */
export const RIGHTS = [
  'admin',
  'group_administration',
  'group_creation',
  'system.group',
  'create',
  'bag_read',
  'bag_write',
  'bag_delete',
  'scim_provisioning',
  'audit_read',
  'metrics_read',
] as const;

export type Right = (typeof RIGHTS)[number];

export function isRight(value: string): value is Right {
  return (RIGHTS as readonly string[]).includes(value);
}

/** True when `held` satisfies at least one requirement set (an empty set needs no right). */
export function satisfiesAny(held: ReadonlySet<string>, requirements: ReadonlyArray<ReadonlyArray<string>>): boolean {
  if (requirements.length === 0) return true;
  return requirements.some((needed) => needed.every((right) => held.has(right)));
}

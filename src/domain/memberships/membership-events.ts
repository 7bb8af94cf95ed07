import type { MemberRef } from './membership';

/**
 * What a membership event lists. `membership.added` (after: `added`) and `membership.removed`
 * (before: `removed`) name the members, `{kind, id}`, whichever dialect changed them; a change of
 * more than the listed number names the first ones and counts them all (`addedCount`,
 * `removedCount`): a replace of 50,000 v1 users wrote one 3 MB event, and a change-feed page of
 * such events held hundreds of MB in memory.
 */
export const LISTED_ADDITIONS = 1_000;

/** Most removed members a `membership.removed` event of a replace or a filtered removal lists. */
export const LISTED_REMOVALS = 1_000;

/** Members changed by one write, listed up to a limit and counted. */
export class ChangedMembers {
  readonly listed: MemberRef[] = [];
  count = 0;

  constructor(private readonly limit: number) {}

  /** Records members changed (only the first `limit` are kept), and `more` changed beyond those given. */
  note(refs: readonly MemberRef[], more = 0): void {
    for (const r of refs) if (this.listed.length < this.limit) this.listed.push(r);
    this.count += refs.length + more;
  }

  /** How many more members would be listed. */
  room(): number {
    return this.limit - this.listed.length;
  }

  /** The event's payload under `key` (`added`/`removed`), with the count when not all are listed. */
  payload(key: 'added' | 'removed'): Record<string, unknown> {
    return this.count > this.listed.length ? { [key]: this.listed, [`${key}Count`]: this.count } : { [key]: this.listed };
  }
}

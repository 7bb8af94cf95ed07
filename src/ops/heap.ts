import { setFlagsFromString } from 'node:v8';

/**
 * Sets how far V8 lets the old generation grow past what its last full collection kept before it
 * collects again (`--heap-growing-percent`), unless `percent` is 0 (V8's own factor).
 *
 * A streamed member list is text that lives for a few of PostgreSQL's batches: long enough for
 * the young generation's collections to promote most of it, and it dies in the old generation
 * soon after. With V8's own factor (up to 4× the live heap) a million-member GET let that dead
 * text pile up to ~90 MB before a full collection (RSS +77–103 MiB over the 3 s GET, measured on
 * a fresh server); with 50% the full collections come at ~1.5× the live heap: +35–42 MiB, in the
 * same time. Requests under load measured the same (a page of 100 users, c=32, alternating
 * builds) and the server's peak RSS under load went from ~205 to ~140 MiB. 20% cut the GET's
 * growth to +26–29 MiB but cost those pages ~12%.
 *
 * V8 reads the factor at every full collection, so setting it once the process runs takes effect
 * from the next one (checked by a test).
 */
export function applyHeapGrowingPercent(percent: number, setFlags: (flags: string) => void = setFlagsFromString): void {
  if (percent > 0) setFlags(`--heap-growing-percent=${percent}`);
}

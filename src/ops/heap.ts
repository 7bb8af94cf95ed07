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

/**
 * Turns off V8's allocation-site pretenuring (`--no-allocation-site-pretenuring`) unless
 * `pretenuring` is true.
 *
 * V8 watches the objects made at each place in the code: when most of a place's objects survived
 * a young-generation collection, it makes that place's objects in the old generation from then on.
 * Under load a request's objects often live through one such collection (32 requests in flight),
 * so V8 decides this for some of the request path's places, and from then on their objects, which
 * die with their request, fill the old generation: full collections every ~2-3 s instead of rarely.
 * Which places it picks depends on the moments its collections fell on, so servers of one build
 * differed a lot: measured on the bench's 1,050,000 users (c=32 `userName eq`, three servers of
 * each kind, alternated): 3-5 full collections per 8 s and p99 23-101 ms with it, 0-2 and 14-50 ms
 * without, and 263 against 336 us of Node CPU per request on average.
 *
 * V8 consults the flag when it tracks allocations and after each collection, so setting it at
 * start, before the first request, is as good as the command-line flag (checked by a test).
 */
export function applyPretenuring(pretenuring: boolean, setFlags: (flags: string) => void = setFlagsFromString): void {
  if (!pretenuring) setFlags('--no-allocation-site-pretenuring');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds, up to `ms`; returns how long it took. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 3000): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`condition not met within ${ms} ms`);
    await sleep(5);
  }
  return Date.now() - started;
}

/**
 * Items with what `load` gives for each, in order, the next one's `load` already running while the caller works
 * on the current one. Made for reads whose cost is off this thread (a NIfTI file inflates on libuv's thread
 * pool): on two cores the next pair inflates while this thread checks and resamples the current one, and memory
 * holds at most two items' loads, whatever their number.
 *
 * The first load starts when `readAhead` is called, not at the first iteration, so the caller can do other work
 * meanwhile (the engine prepares the target while the first pair is read). A load that fails is reported when its
 * turn comes, in order; one whose turn never comes (the caller stopped early) is dropped unreported.
 */
export function readAhead<T, R>(items: readonly T[], load: (item: T) => Promise<R>): AsyncIterable<{ item: T; value: R }> {
  const start = (i: number): Promise<R> | undefined => {
    if (i >= items.length) return undefined;
    const p = load(items[i]);
    // Not an unhandled rejection while it waits for its turn; awaiting `p` below still throws.
    p.catch(() => {});
    return p;
  };
  let next = start(0);
  return {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < items.length; i++) {
        const value = await next!;
        // Started only now: while this item is awaited, its load has the thread pool to itself.
        next = start(i + 1);
        yield { item: items[i], value };
      }
    },
  };
}

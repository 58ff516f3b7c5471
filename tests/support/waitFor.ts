/**
 * Waits until `condition` holds, looking again every `everyMs`; gives up after `withinMs` with an error
 * that says what it waited for. For conditions that announce themselves in no event a test can await
 * (a file another process writes, a line a log records); never a fixed sleep.
 */
export async function waitFor(
  what: string,
  condition: () => boolean,
  { withinMs = 20_000, everyMs = 20 }: { withinMs?: number; everyMs?: number } = {},
): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > withinMs) throw new Error(`gave up after ${withinMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** As waitFor, for a value: resolves with the first value `get` returns that is not undefined. */
export async function waitForValue<T>(
  what: string,
  get: () => T | undefined,
  options: { withinMs?: number; everyMs?: number } = {},
): Promise<T> {
  let value: T | undefined;
  await waitFor(
    what,
    () => {
      value = get();
      return value !== undefined;
    },
    options,
  );
  return value as T;
}

/** A stop the operator asked for: resolves on the first SIGINT or SIGTERM; `fired` tells without waiting. */
export type StopRequest = Promise<void> & { readonly fired: boolean };

/**
 * Listens for SIGINT and SIGTERM from now on and tells the operator the process is stopping. Install it
 * before anything slow (starting a dev server, a worker): a signal that arrives during startup must stop the
 * process too, and the Temporal runtime is told not to handle signals itself (src/temporal/logging.ts).
 */
export function untilSignalled(say: (line: string) => void): StopRequest {
  let fired = false;
  const stopped = new Promise<void>((resolve) => {
    const handler = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      fired = true;
      say('stopping: finishing in-flight tasks');
      resolve();
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
  return Object.defineProperty(stopped, 'fired', { get: () => fired }) as StopRequest;
}

/** Resolves on the first SIGINT or SIGTERM, after telling the operator the process is stopping. */
export function untilSignalled(say: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const handler = () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      say('stopping: finishing in-flight tasks');
      resolve();
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

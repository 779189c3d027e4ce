/**
 * The Temporal namespace of this test process. EnrichIoc IDs are deterministic (`ioc:<type>:<value>`), so
 * two test files enriching the same sample IOC at the same moment in one namespace would meet each
 * other's runs. Vitest numbers its concurrent workers (VITEST_POOL_ID, 1 to maxWorkers), and files in one
 * worker run one after another: a namespace per worker keeps concurrent files apart. Outside vitest (the
 * benchmarks, the history recorder) it is the server's `default`.
 */
export function testNamespace(): string {
  const pool = process.env.VITEST_POOL_ID;
  return pool ? testNamespaceOf(Number(pool)) : 'default';
}

export function testNamespaceOf(pool: number): string {
  return `iocflow-test-${pool}`;
}

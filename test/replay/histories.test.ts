import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../src/project-root.js';

const HISTORIES = join(PROJECT_ROOT, 'test', 'histories');
const WORKFLOWS = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

type History = temporal.api.history.v1.IHistory;

/** Every recorded history, as `<set>/<scenario>.json`: one set per version of the workflow code. */
function recorded(): { name: string; history: History }[] {
  return readdirSync(HISTORIES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((set) =>
      readdirSync(join(HISTORIES, set.name))
        .filter((file) => file.endsWith('.json'))
        .map((file) => `${set.name}/${file}`),
    )
    .sort()
    .map((name) => ({
      name,
      history: historyFromJSON(JSON.parse(readFileSync(join(HISTORIES, name), 'utf8'))),
    }));
}

const typeOf = (h: History) => h.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;

describe('recorded workflow histories', () => {
  const histories = recorded();

  test('cover both workflows and the runs that matter: continue-as-new, a signal, a failed vendor', () => {
    expect(new Set(histories.map((h) => typeOf(h.history)))).toEqual(new Set(['EnrichIoc', 'IngestCycle']));
    const has = (pick: (e: temporal.api.history.v1.IHistoryEvent) => unknown) =>
      histories.filter((h) => h.history.events?.some((e) => pick(e) != null)).map((h) => h.name);
    expect(has((e) => e.workflowExecutionContinuedAsNewEventAttributes)).not.toEqual([]);
    expect(has((e) => e.workflowExecutionSignaledEventAttributes)).not.toEqual([]);
    expect(has((e) => e.activityTaskFailedEventAttributes)).not.toEqual([]);
  });

  test('no event carries more than a few KB (inputs, results, signals and pages stay small)', () => {
    const largest = Math.max(
      ...histories.flatMap((h) => (h.history.events ?? []).map((e) => JSON.stringify(e).length)),
    );
    expect(largest).toBeLessThan(16 * 1024);
  });

  test('every committed history replays against the current workflow code', async () => {
    const outcomes: { name: string; error?: string }[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowsPath: WORKFLOWS, replayName: 'iocflow-replay' },
      histories.map((h) => ({ workflowId: h.name, history: h.history })),
    )) {
      outcomes.push({ name: result.workflowId, ...(result.error ? { error: String(result.error) } : {}) });
    }
    expect(outcomes).toEqual(histories.map((h) => ({ name: h.name })));
  });
});

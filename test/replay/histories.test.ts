import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../src/project-root.js';

const HISTORIES = join(PROJECT_ROOT, 'test', 'histories');
const WORKFLOWS = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

describe('recorded workflow histories', () => {
  test('every committed history replays against the current workflow code', async () => {
    const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));
    const histories = files.map((file) => ({
      workflowId: file,
      history: historyFromJSON(JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'))),
    }));
    const types = new Set(
      histories.map(
        (h) => h.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name,
      ),
    );
    // Both workflow types must be covered, or a change to one of them would go untested.
    expect([...types].sort()).toEqual(['EnrichIoc', 'IngestCycle']);

    const outcomes: { file: string; error?: string }[] = [];
    for await (const result of Worker.runReplayHistories(
      { workflowsPath: WORKFLOWS, replayName: 'iocflow-replay' },
      histories,
    )) {
      outcomes.push({ file: result.workflowId, ...(result.error ? { error: String(result.error) } : {}) });
    }
    expect(outcomes).toEqual(files.map((file) => ({ file })));
  });
});

import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, test } from 'vitest';
import { createActivities, WORK_PAGE_BYTES } from '../../activities/index.js';
import { configSchema } from '../../src/config/index.js';
import { loadAllowlists } from '../../src/ioc/index.js';
import { planWork, recordSightings } from '../../src/store/index.js';
import type { WorkItem } from '../../src/shared/messages.js';
import { sighting, tempStore } from '../support/store.js';

describe('the work list as the cycle pages through it', () => {
  test('a page of long URLs stops at its byte budget, and paging still visits every item once', async () => {
    const config = configSchema.parse({ sources: { feed: { type: 'plain', path: 'f.txt' } } });
    const store = tempStore();
    const long = (i: number) =>
      `https://files.example-c2.net/${String(i).padStart(4, '0')}/${'a'.repeat(1500)}`;
    recordSightings(
      store.db,
      Array.from({ length: 60 }, (_, i) => sighting('url', long(i), 'feed')),
      'cycle-1',
    );
    expect(planWork(store.db, 'cycle-1', Date.now())).toBe(60);
    const activities = createActivities({
      config,
      store,
      allowlists: await loadAllowlists(config.allowlists, { baseDir: store.dir }),
    });
    const env = new MockActivityEnvironment();
    const seen: string[] = [];
    let afterSeq = 0;
    for (;;) {
      const page: WorkItem[] = await env.run(
        (input: Parameters<typeof activities.nextWorkPage>[0]) => activities.nextWorkPage(input),
        {
          cycleId: 'cycle-1',
          afterSeq,
          limit: 100,
        },
      );
      if (page.length === 0) break;
      expect(JSON.stringify(page).length).toBeLessThan(WORK_PAGE_BYTES + 2048);
      seen.push(...page.map((item) => item.key));
      afterSeq = page.at(-1)!.seq;
    }
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
    store.close();
  });
});

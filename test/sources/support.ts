import type { Got } from 'got';
import { createHttpClient } from '../../src/http/client.js';
import { configSchema, type SourceConfig } from '../../src/config/index.js';
import { createSource, type SourcePage } from '../../src/sources/index.js';
import type { SourceMemory } from '../../src/store/source-state.js';

/** A source as the config loader would build it from this raw entry. */
export function sourceFrom(name: string, raw: Record<string, unknown>) {
  const config = configSchema.parse({ sources: { [name]: raw } }).sources[name] as SourceConfig;
  return createSource(name, config);
}

export const http: Got = createHttpClient({ timeoutMs: 5000 });

/** Every page of one pull, and the memory it leaves. */
export async function pullAll(
  source: ReturnType<typeof createSource>,
  memory: SourceMemory = {},
  resumeFrom?: string,
): Promise<{ pages: SourcePage[]; memory: SourceMemory }> {
  const pull = source.pull({ memory, http, resumeFrom });
  const pages: SourcePage[] = [];
  for await (const page of pull.pages) pages.push(page);
  return { pages, memory: pull.memory() };
}

export const values = (pages: SourcePage[]) => pages.flatMap((p) => p.entries.map((e) => e.value));
export const errors = (pages: SourcePage[]) => pages.flatMap((p) => p.errors);

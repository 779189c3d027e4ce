import { z } from 'zod';
import type { SourceConfigOf } from '../config/index.js';
import { pagesOfLines } from './delimited.js';
import { documentSource, openDocument, openFile } from './document.js';
import { hasBadUtf8, numberedJson } from './json-stream.js';
import { describeZodError, type PageBuilder } from './pages.js';
import { savedFileSettings, settingsOf, type SourceSettings } from './settings.js';
import { parseStixPattern } from './stix-pattern.js';
import type { Source, SourcePage } from './types.js';

/**
 * A STIX 2.1 bundle from a file or URL, streamed object by object (`$.objects.*`), so a bundle of 100,000
 * objects is never one string. Only `indicator` objects yield entries; SCOs and observed-data describe
 * what was seen, not what is malicious, and are passed over. The cursor is the number of objects read.
 */
export function stixSource(name: string, config: SourceConfigOf<'stix'>): Source {
  const settings = settingsOf(name, 'STIX bundle', config);
  return documentSource(
    name,
    config,
    settings,
    (context) =>
      openDocument(context, settings, config, { accept: 'application/stix+json, application/json' }),
    bundlePages,
  );
}

function bundlePages(
  settings: SourceSettings,
  body: AsyncIterable<Buffer>,
  skipThrough: number,
  onTruncated: () => void,
): AsyncGenerator<SourcePage> {
  const now = Date.now();
  return pagesOfLines(
    settings,
    numberedJson(settings.name, body, ['$.objects.*']),
    skipThrough,
    (item, position, page) => addStixObject(page, item.value, position, now),
    onTruncated,
    'object',
  );
}

/** TLP 2.0 marking definitions of the STIX 2.1 specification (§7.2.1.4). */
const TLP_MARKINGS: Record<string, string> = {
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'tlp:clear',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'tlp:green',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'tlp:amber',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'tlp:red',
};

const stixObject = z.object({ type: z.string(), id: z.string().optional() });
const indicator = z.object({
  type: z.literal('indicator'),
  id: z.string().min(1),
  pattern: z.string().min(1),
  pattern_type: z.string().optional(),
  revoked: z.boolean().optional(),
  valid_until: z.string().optional(),
  labels: z.array(z.string()).optional(),
  indicator_types: z.array(z.string()).optional(),
  confidence: z.number().int().min(0).max(100).optional(),
  object_marking_refs: z.array(z.string()).optional(),
});

/**
 * One STIX object: an indicator becomes one entry per value its pattern names; revoked and expired
 * indicators are skipped (counted); a pattern this pipeline cannot express is an error with the reason.
 */
export function addStixObject(page: PageBuilder, raw: unknown, position: string, now: number): void {
  const head = stixObject.safeParse(raw);
  if (!head.success) return page.error(position, `not a STIX object: ${describeZodError(head.error)}`);
  if (head.data.type !== 'indicator') return;
  const at = `${position} (${head.data.id ?? 'no id'})`;
  const parsed = indicator.safeParse(raw);
  if (!parsed.success) return page.error(at, `not a STIX indicator: ${describeZodError(parsed.error)}`);
  const ind = parsed.data;
  if (ind.revoked) return page.skip('revoked');
  if (ind.valid_until) {
    const until = Date.parse(ind.valid_until);
    if (Number.isNaN(until))
      return page.error(at, `valid_until ${JSON.stringify(ind.valid_until.slice(0, 40))} is no time`);
    if (until <= now) return page.skip('expired');
  }
  // STIX 2.0 indicators have no pattern_type: their patterns are STIX patterns.
  if (ind.pattern_type !== undefined && ind.pattern_type !== 'stix') return page.skip('not_stix_pattern');
  if (hasBadUtf8(ind.pattern)) return page.error(at, 'pattern is not valid UTF-8');
  const result = parseStixPattern(ind.pattern);
  if (!result.ok) return page.error(at, `pattern not taken: ${result.reason}`);
  const tags = [
    ...new Set([
      ...(ind.labels ?? []),
      ...(ind.indicator_types ?? []),
      ...(ind.object_marking_refs ?? []).flatMap((m) => (TLP_MARKINGS[m] ? [TLP_MARKINGS[m]] : [])),
    ]),
  ];
  for (const o of result.observables) {
    page.entry({
      value: o.value,
      typeHint: o.path,
      position: at,
      ref: ind.id,
      ...(tags.length > 0 ? { tags } : {}),
      ...(ind.confidence !== undefined ? { confidence: ind.confidence } : {}),
    });
  }
}

/** `iocflow parse --format stix PATH`. */
export async function* readStixFile(path: string): AsyncGenerator<SourcePage> {
  const settings = savedFileSettings(path, 'STIX bundle');
  yield* bundlePages(settings, await openFile(settings, path), 0, () => {});
}

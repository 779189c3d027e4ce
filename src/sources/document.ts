import { open } from 'node:fs/promises';
import type { SourceMemory } from '../store/source-state.js';
import { lineCursor } from './delimited.js';
import { openResponse } from './http.js';
import { savedFileSettings, type SourceSettings } from './settings.js';
import type { Source, SourceContext, SourcePage, SourcePull } from './types.js';
import type { SourceConfig } from '../config/index.js';

/** Where a one-document source reads from: exactly one of the two (the config schema enforces it). */
export interface Location {
  path?: string | undefined;
  url?: string | undefined;
}

export type OpenedDocument =
  { status: 'unchanged' } | { status: 'ok'; body: AsyncIterable<Buffer>; validators: SourceMemory };

/**
 * Opens a local file or GETs a URL as a stream. Over HTTP it sends the validators of the last complete pull,
 * so an unchanged feed costs one 304 and yields nothing.
 */
export async function openDocument(
  context: Pick<SourceContext, 'http' | 'signal' | 'memory'>,
  settings: SourceSettings,
  location: Location,
  headers: Record<string, string> = {},
): Promise<OpenedDocument> {
  if (location.path !== undefined) {
    return { status: 'ok', body: await openFile(settings, location.path, context.signal), validators: {} };
  }
  if (location.url === undefined) throw new Error(`source ${settings.name}: neither path nor url is set`);
  const opened = await openResponse(context, settings, {
    url: location.url,
    headers,
    conditional: context.memory,
  });
  return opened.status === 'unchanged'
    ? opened
    : { status: 'ok', body: opened.body, validators: opened.validators };
}

/** The memory a whole-document pull leaves: new validators, unless the body broke off. */
export function documentMemory(
  previous: SourceMemory,
  opened: OpenedDocument | undefined,
  truncated: boolean,
): SourceMemory {
  if (!opened || opened.status === 'unchanged' || truncated) return previous;
  return { ...previous, etag: opened.validators.etag, lastModified: opened.validators.lastModified };
}

/** A local file as a stream; a missing or unreadable file fails the pull with a message naming it. */
export async function openFile(
  settings: SourceSettings,
  path: string,
  signal?: AbortSignal,
): Promise<AsyncIterable<Buffer>> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new Error(
      `source ${settings.name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  return handle.createReadStream(signal ? { signal } : {});
}

/** Parses a document as it streams into pages, skipping the first `skipThrough` records a resumed pull already stored. */
export type DocumentPages = (
  settings: SourceSettings,
  body: AsyncIterable<Buffer>,
  skipThrough: number,
  onTruncated: () => void,
) => AsyncGenerator<SourcePage>;

/**
 * A source that reads one whole document per pull (a file, or a URL fetched conditionally: an unchanged
 * feed costs one 304 and yields nothing), parsed as it streams. The cursor counts the records read, so a
 * retried pull skips what the last attempt stored; the validators are remembered only after a complete
 * read.
 */
export function documentSource(
  name: string,
  config: SourceConfig,
  settings: SourceSettings,
  open: (context: SourceContext) => Promise<OpenedDocument>,
  pagesOf: DocumentPages,
): Source {
  return {
    name,
    config,
    pull(context: SourceContext): SourcePull {
      let opened: OpenedDocument | undefined;
      let truncated = false;
      return {
        pages: (async function* () {
          opened = await open(context);
          if (opened.status === 'unchanged') return;
          yield* pagesOf(settings, opened.body, lineCursor(context.resumeFrom), () => (truncated = true));
        })(),
        memory: () => documentMemory(context.memory, opened, truncated),
      };
    },
  };
}

/** A saved response, read by `iocflow parse` through the same parser as the live source. */
export function savedDocument(service: string, pagesOf: DocumentPages) {
  return async function* (path: string): AsyncGenerator<SourcePage> {
    const settings = savedFileSettings(path, service);
    yield* pagesOf(settings, await openFile(settings, path), 0, () => {});
  };
}

import { open } from 'node:fs/promises';
import type { SourceMemory } from '../store/source-state.js';
import { openResponse } from './http.js';
import type { SourceSettings } from './settings.js';
import type { SourceContext } from './types.js';

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

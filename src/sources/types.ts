import type { Got } from 'got';
import type { SourceConfig } from '../config/index.js';
import type { SourceMemory } from '../store/source-state.js';

/** One entry as a source delivers it, before normalisation. */
export interface RawEntry {
  value: string;
  /** The source's own type name for the value (`ip-dst`, `IPv4`, `FileHash-SHA256`…). */
  typeHint?: string;
  /** Event / pulse id or record reference inside the source. */
  ref?: string;
  tags?: string[];
  /** The entry's own confidence, 0–100, when the source gives one. */
  confidence?: number;
  /** When the source says it first saw the value (epoch ms); the sighting's first seen. */
  firstSeen?: number;
  /** When the source says it last saw the value (epoch ms); otherwise the pull's time counts. */
  lastSeen?: number;
  /** Where the entry sits in the source (`line 12`, `page 3, item 7`), for error messages. */
  position: string;
}

/** An entry the source could not even read as an entry (bad JSON record, wrong column count…). */
export interface EntryError {
  position: string;
  message: string;
}

/** One page of a source's output and the cursor to resume after it. */
export interface SourcePage {
  entries: RawEntry[];
  errors: EntryError[];
  /**
   * Records read and deliberately left out, counted by reason (`offline` URLhaus URLs, `revoked` STIX
   * indicators…): not errors, and not indicators either.
   */
  skipped?: Record<string, number>;
  /** Opaque resume point: passing it to `pages()` continues after this page. */
  cursor: string;
}

export interface SourcePull {
  pages: AsyncIterable<SourcePage>;
  /**
   * What to remember once every page was taken without error: the next watermark (e.g. the newest
   * timestamp seen) and the response validators. Read only after the pages are exhausted; fields left
   * undefined are stored as undefined, so return the previous value to keep it.
   */
  memory(): SourceMemory;
}

export interface SourceContext {
  /** What the last successful pull left: watermark and conditional-request validators. */
  memory: SourceMemory;
  /** The shared HTTP client (retries off, TLS verified); sources never build their own. */
  http: Got;
  /** Cursor from the last heartbeat of a previous attempt: continue after it. */
  resumeFrom?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface Source {
  readonly name: string;
  readonly config: SourceConfig;
  pull(context: SourceContext): SourcePull;
}

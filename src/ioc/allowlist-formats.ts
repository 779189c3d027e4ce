// The two file formats an allowlist can come in: MISP warninglist JSON and plain text.

import { z } from 'zod';
import { resolveTypeHint } from './type-hints.js';
import type { IocType } from './types.js';
import { IOC_TYPES } from './types.js';

export const MISP_LIST_TYPES = ['string', 'substring', 'hostname', 'cidr', 'regex'] as const;
export type MispListType = (typeof MISP_LIST_TYPES)[number];

const mispWarninglistSchema = z.object({
  name: z.string(),
  type: z.enum(MISP_LIST_TYPES),
  list: z.array(z.unknown()),
  matching_attributes: z.array(z.string()).optional(),
  description: z.string().optional(),
  version: z.union([z.number(), z.string()]).optional(),
});

export interface MispWarninglist {
  name: string;
  type: MispListType;
  /** Entries as strings; non-string entries are counted in `nonStringEntries`. */
  list: string[];
  nonStringEntries: number;
  matchingAttributes: string[];
}

/** Parses a MISP warninglist (misp-warninglists `list.json`); throws with a short reason when it is not one. */
export function parseMispWarninglist(text: string): MispWarninglist {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = mispWarninglistSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`not a MISP warninglist: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  const list = parsed.data.list.filter((entry): entry is string => typeof entry === 'string');
  return {
    name: parsed.data.name,
    type: parsed.data.type,
    list,
    nonStringEntries: parsed.data.list.length - list.length,
    matchingAttributes: parsed.data.matching_attributes ?? [],
  };
}

/**
 * The iocflow types a list's MISP `matching_attributes` cover, through the same type-name table the
 * normaliser uses. No attributes means every type. Unknown attribute types (`ssdeep`, `sha224`…) add nothing.
 */
export function typesForMispAttributes(attributes: readonly string[]): Set<IocType> {
  if (attributes.length === 0) return new Set(IOC_TYPES);
  const types = new Set<IocType>();
  for (const attribute of attributes) {
    const target = resolveTypeHint(attribute);
    switch (target) {
      case undefined:
      case 'not_an_indicator':
        break;
      case 'ip':
      case 'ip|port':
      case 'ip:port':
        types.add('ipv4').add('ipv6').add('cidr');
        break;
      case 'domain|ip':
        types.add('domain').add('ipv4').add('ipv6').add('cidr');
        break;
      case 'host|port':
        types.add('domain');
        break;
      case 'filename|md5':
      case 'filename|sha1':
      case 'filename|sha256':
        types.add(target.slice('filename|'.length) as IocType);
        break;
      default:
        types.add(target);
    }
  }
  return types;
}

/** A plain list: one entry per line; blank lines and `#` comments are ignored. */
export function parsePlainList(text: string): string[] {
  const entries: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const hash = line.indexOf('#');
    const entry = (hash >= 0 ? line.slice(0, hash) : line).trim();
    if (entry !== '') entries.push(entry);
  }
  return entries;
}

/** Longest regex source accepted from a list; a crude bound on what one pattern can cost. @default 1000 */
export const MAX_REGEX_LENGTH = 1000;

/**
 * Compiles a MISP regex entry, written PHP-style (`/pattern/flags`) or bare. Returns an error
 * message instead of throwing; only the `i`, `m`, `s` and `u` flags are kept.
 */
export function compileListRegex(entry: string): RegExp | string {
  if (entry.length > MAX_REGEX_LENGTH) return `longer than ${MAX_REGEX_LENGTH} characters`;
  let source = entry;
  let flags = '';
  const lastSlash = entry.lastIndexOf('/');
  if (entry.startsWith('/') && lastSlash > 0) {
    source = entry.slice(1, lastSlash);
    flags = [...new Set(entry.slice(lastSlash + 1))].filter((flag) => 'imsu'.includes(flag)).join('');
  }
  try {
    return new RegExp(source, flags);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

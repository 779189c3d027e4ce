/** The indicator types iocflow handles. The type is part of an IOC's identity. */
export const IOC_TYPES = ['ipv4', 'ipv6', 'cidr', 'domain', 'url', 'md5', 'sha1', 'sha256', 'email'] as const;
export type IocType = (typeof IOC_TYPES)[number];

/** Machine-readable reasons an entry is not an indicator; counted per source in the cycle statistics. */
export const REJECT_REASONS = [
  'empty',
  'unknown_type',
  'bad_hash_length',
  'bad_ip',
  'bad_cidr',
  'invalid_tld',
  'bad_domain',
  'bad_url',
  'bad_email',
  'too_long',
  'not_an_indicator',
  'bad_hash',
  'bad_port',
  'bad_scheme',
  'bad_composite',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** An indicator in canonical form. */
export interface Indicator {
  type: IocType;
  value: string;
}

/** What a raw entry said beside the indicator itself; never part of the indicator's identity. */
export interface IndicatorContext {
  /** The port of `1.2.3.4:8080`, `[2001:db8::1]:443` or a MISP `ip-dst|port` / `hostname|port` entry. */
  port?: number;
  /** The file name of a MISP `filename|sha256` (and md5/sha1) entry. */
  filename?: string;
}

/** One outcome of normalising a raw entry: an indicator, or a rejection with its reason. */
export type NormaliseOutcome =
  | {
      kind: 'indicator';
      type: IocType;
      value: string;
      /** `<type>:<value>`: the IOC's identity everywhere (store, workflow IDs, sinks). */
      key: string;
      /** Context split off the value, e.g. the port of `1.2.3.4:8080`. */
      context?: IndicatorContext;
    }
  | { kind: 'rejected'; reason: RejectReason; detail?: string };

export function canonicalKey(indicator: Indicator): string {
  return `${indicator.type}:${indicator.value}`;
}

/** Splits a canonical key back into its type and value. */
export function parseKey(key: string): Indicator {
  const colon = key.indexOf(':');
  const type = key.slice(0, colon);
  if (colon < 0 || !(IOC_TYPES as readonly string[]).includes(type)) {
    throw new Error(`not a canonical IOC key: ${JSON.stringify(key.slice(0, 80))}`);
  }
  return { type: type as IocType, value: key.slice(colon + 1) };
}

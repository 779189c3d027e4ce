// The one harmonisation table: every source's own type name mapped onto what iocflow expects the
// value to be. A new source's type names are added here and nowhere else.

/**
 * What a type hint says about the value:
 * - an indicator type, or `ip` (IPv4, IPv6 or a CIDR block: MISP's `ip-dst` takes all three);
 * - `ip|port`, `host|port`, `domain|ip`, `filename|<hash>`: MISP composites, `|`-separated;
 * - `ip:port`: an address with an optional `:port` (abuse.ch);
 * - `not_an_indicator`: a real type name whose values are not indicators (MISP `link`).
 */
export type HintTarget =
  | 'ipv4'
  | 'ipv6'
  | 'ip'
  | 'cidr'
  | 'domain'
  | 'url'
  | 'md5'
  | 'sha1'
  | 'sha256'
  | 'email'
  | 'ip:port'
  | 'ip|port'
  | 'host|port'
  | 'domain|ip'
  | 'filename|md5'
  | 'filename|sha1'
  | 'filename|sha256'
  | 'not_an_indicator';

/** Keys are lowercased, with STIX quotes removed (`file:hashes.'SHA-256'` → `file:hashes.sha-256`). */
const TYPE_HINTS: Readonly<Record<string, HintTarget>> = {
  // MISP attribute types
  'ip-dst': 'ip',
  'ip-src': 'ip',
  'ip-dst|port': 'ip|port',
  'ip-src|port': 'ip|port',
  hostname: 'domain',
  domain: 'domain',
  'domain|ip': 'domain|ip',
  'hostname|port': 'host|port',
  url: 'url',
  uri: 'url',
  link: 'not_an_indicator',
  md5: 'md5',
  sha1: 'sha1',
  sha256: 'sha256',
  'filename|md5': 'filename|md5',
  'filename|sha1': 'filename|sha1',
  'filename|sha256': 'filename|sha256',
  email: 'email',
  'email-src': 'email',
  'email-dst': 'email',
  // AlienVault OTX indicator types (domain, hostname, URL, URI, email are shared with MISP above)
  ipv4: 'ipv4',
  ipv6: 'ipv6',
  'filehash-md5': 'md5',
  'filehash-sha1': 'sha1',
  'filehash-sha256': 'sha256',
  cidr: 'cidr',
  // STIX 2.1 pattern object paths
  'ipv4-addr:value': 'ip',
  'ipv6-addr:value': 'ip',
  'domain-name:value': 'domain',
  'url:value': 'url',
  'file:hashes.md5': 'md5',
  'file:hashes.sha-1': 'sha1',
  'file:hashes.sha1': 'sha1',
  'file:hashes.sha-256': 'sha256',
  'file:hashes.sha256': 'sha256',
  'email-addr:value': 'email',
  // abuse.ch (URLhaus, ThreatFox, Feodo, MalwareBazaar) and generic feeds
  'ip:port': 'ip:port',
  ip: 'ip:port',
  ip_port: 'ip:port',
  md5_hash: 'md5',
  sha1_hash: 'sha1',
  sha256_hash: 'sha256',
};

// STIX ipv4-addr values may be CIDR blocks (`198.51.100.0/24`), so they map to `ip`, not `ipv4`.

/** The harmonised meaning of a source's type name, or undefined when the name is unknown. */
export function resolveTypeHint(typeHint: string): HintTarget | undefined {
  const key = typeHint.trim().toLowerCase().replace(/['"]/g, '');
  return Object.hasOwn(TYPE_HINTS, key) ? TYPE_HINTS[key] : undefined;
}

/** Every type name the table knows, as written in the table. */
export function knownTypeHints(): string[] {
  return Object.keys(TYPE_HINTS);
}

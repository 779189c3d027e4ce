// Built-in allowlists: indicators that are valid but must never be pushed to a SIEM or EDR. They
// are written here, not copied from MISP, so iocflow is safe with no list files at all. Entries use
// the plain-list syntax: an address, a CIDR block, or `.domain` for a domain and its subdomains.

import type { IocType } from './types.js';

export interface BuiltinAllowlist {
  name: string;
  description: string;
  /** Indicator types the list is checked against; for `url` and `email` the host or domain is checked. */
  appliesTo: readonly IocType[];
  entries: readonly string[];
}

const IP_TYPES: readonly IocType[] = ['ipv4', 'ipv6', 'cidr', 'url'];

export const BUILTIN_ALLOWLISTS: readonly BuiltinAllowlist[] = [
  {
    name: 'builtin-reserved-ipv4',
    description:
      'IPv4 special-purpose ranges (RFC 6890 and successors): private, loopback, link-local, CGNAT, documentation, benchmarking, multicast, reserved',
    appliesTo: IP_TYPES,
    entries: [
      '0.0.0.0/8', // "this network" (RFC 791)
      '10.0.0.0/8', // private (RFC 1918)
      '100.64.0.0/10', // shared address space, CGNAT (RFC 6598)
      '127.0.0.0/8', // loopback
      '169.254.0.0/16', // link-local (RFC 3927)
      '172.16.0.0/12', // private
      '192.0.0.0/24', // IETF protocol assignments (RFC 6890)
      '192.0.2.0/24', // documentation TEST-NET-1 (RFC 5737)
      '192.88.99.0/24', // deprecated 6to4 relay anycast (RFC 7526)
      '192.168.0.0/16', // private
      '198.18.0.0/15', // benchmarking (RFC 2544)
      '198.51.100.0/24', // documentation TEST-NET-2
      '203.0.113.0/24', // documentation TEST-NET-3
      '224.0.0.0/4', // multicast (RFC 5771)
      '240.0.0.0/4', // reserved for future use, includes the limited broadcast 255.255.255.255
    ],
  },
  {
    name: 'builtin-reserved-ipv6',
    description:
      'IPv6 special-purpose ranges (RFC 6890 and successors): unspecified, loopback, mapped, discard, documentation, benchmarking, unique-local, link-local, site-local, multicast',
    appliesTo: IP_TYPES,
    entries: [
      '::/128', // unspecified
      '::1/128', // loopback
      // Not ::ffff:0:0/96: IPv4-mapped addresses are normalised to IPv4 and checked by the IPv4 list;
      // as a block it would be the whole IPv4 space.
      '64:ff9b:1::/48', // local-use IPv4/IPv6 translation (RFC 8215)
      '100::/64', // discard-only (RFC 6666)
      '2001:2::/48', // benchmarking (RFC 5180)
      '2001:db8::/32', // documentation (RFC 3849)
      '3fff::/20', // documentation (RFC 9637)
      'fc00::/7', // unique-local (RFC 4193)
      'fe80::/10', // link-local
      'fec0::/10', // deprecated site-local (RFC 3879)
      'ff00::/8', // multicast
    ],
  },
  {
    name: 'builtin-public-dns',
    description: 'Anycast addresses of the large public DNS resolvers: Google, Cloudflare, Quad9, OpenDNS',
    appliesTo: IP_TYPES,
    entries: [
      // Google Public DNS
      '8.8.8.8',
      '8.8.4.4',
      '2001:4860:4860::8888',
      '2001:4860:4860::8844',
      '2001:4860:4860::6464',
      '2001:4860:4860::64',
      // Cloudflare 1.1.1.1, with the malware-blocking and family variants
      '1.1.1.1',
      '1.0.0.1',
      '1.1.1.2',
      '1.0.0.2',
      '1.1.1.3',
      '1.0.0.3',
      '2606:4700:4700::1111',
      '2606:4700:4700::1001',
      '2606:4700:4700::1112',
      '2606:4700:4700::1002',
      '2606:4700:4700::1113',
      '2606:4700:4700::1003',
      '2606:4700:4700::64',
      '2606:4700:4700::6400',
      // Quad9: secure, unsecured and ECS services
      '9.9.9.9',
      '149.112.112.112',
      '9.9.9.10',
      '149.112.112.10',
      '9.9.9.11',
      '149.112.112.11',
      '2620:fe::fe',
      '2620:fe::9',
      '2620:fe::10',
      '2620:fe::fe:10',
      '2620:fe::11',
      '2620:fe::fe:11',
      // Cisco OpenDNS, with FamilyShield
      '208.67.222.222',
      '208.67.220.220',
      '208.67.222.123',
      '208.67.220.123',
      '2620:119:35::35',
      '2620:119:53::53',
      '2620:0:ccc::2',
      '2620:0:ccd::2',
    ],
  },
  {
    name: 'builtin-special-domains',
    description:
      'Reserved and special-use domain names (RFC 2606, RFC 6761, RFC 6762, RFC 8375) and reverse-DNS zones',
    appliesTo: ['domain', 'url', 'email'],
    entries: [
      '.example.com',
      '.example.net',
      '.example.org',
      '.example',
      '.test',
      '.invalid',
      '.localhost',
      '.local', // multicast DNS (RFC 6762)
      '.home.arpa', // home networks (RFC 8375)
      '.in-addr.arpa', // reverse DNS names are lookups, not hosts
      '.ip6.arpa',
    ],
  },
];

import type { Got } from 'got';
import type { VendorName } from '../config/enrichers.js';
import type { Indicator } from '../ioc/index.js';

export type { VendorName };

/** VirusTotal's view of a file, domain, IP or URL. */
export interface VirusTotalVerdict {
  vendor: 'virustotal';
  malicious: number;
  suspicious: number;
  harmless: number;
  undetected: number;
  /** Engines that gave a verdict (malicious + suspicious + harmless + undetected). */
  engines: number;
  /** Community reputation; negative is bad. */
  reputation: number;
  tags: string[];
  threatLabel?: string;
  /** ISO time of the last analysis. */
  lastAnalysisAt?: string;
  /** ISO time the object was first seen by VirusTotal (files), when given. */
  firstSeenAt?: string;
}

/** Shodan's view of a host. */
export interface ShodanVerdict {
  vendor: 'shodan';
  ports: number[];
  org?: string;
  isp?: string;
  asn?: string;
  country?: string;
  hostnames: string[];
  /** `tor`, `c2`, `vpn`, `cloud`… */
  tags: string[];
  vulns: string[];
  lastUpdate?: string;
}

/** AbuseIPDB's view of an IP. */
export interface AbuseIpdbVerdict {
  vendor: 'abuseipdb';
  abuseConfidenceScore: number;
  totalReports: number;
  distinctReporters: number;
  lastReportedAt?: string;
  usageType?: string;
  isp?: string;
  countryCode?: string;
  isWhitelisted: boolean | null;
  isTor: boolean;
}

export type Verdict = VirusTotalVerdict | ShodanVerdict | AbuseIpdbVerdict;

/** A vendor's answer: what it knows, or that it does not know the IOC (a normal, cacheable answer). */
export type Lookup<V extends Verdict = Verdict> = { outcome: 'ok'; verdict: V } | { outcome: 'not_found' };

export interface Enricher<V extends Verdict = Verdict> {
  readonly vendor: VendorName;
  /**
   * One lookup. Throws the typed HTTP failures of src/http/failures.ts. `onSent` is called once the
   * request has been written to the connection (the moment the vendor's rate limit counts).
   */
  lookup(indicator: Indicator, signal?: AbortSignal, onSent?: () => void): Promise<Lookup<V>>;
}

export interface EnricherDeps {
  http: Got;
}

/** A one-line reading of a verdict for timelines and logs: `VirusTotal 52/90 malicious`. */
export function describeLookup(vendor: VendorName, lookup: Lookup): string {
  if (lookup.outcome === 'not_found') return `${vendor}: unknown to the vendor`;
  const v = lookup.verdict;
  switch (v.vendor) {
    case 'virustotal':
      return `virustotal: ${v.malicious}/${v.engines} malicious, ${v.suspicious} suspicious${v.threatLabel ? `, ${v.threatLabel}` : ''}`;
    case 'shodan':
      return `shodan: ports ${v.ports.join(',') || 'none'}${v.tags.length ? `, tags ${v.tags.join(',')}` : ''}${v.vulns.length ? `, ${v.vulns.length} vulns` : ''}`;
    case 'abuseipdb':
      return `abuseipdb: confidence ${v.abuseConfidenceScore}, ${v.totalReports} reports by ${v.distinctReporters}${v.isTor ? ', tor' : ''}`;
  }
}

import type { Config } from '../config/index.js';
import { VENDORS, type VendorName } from '../config/enrichers.js';
import type { IocType } from '../ioc/index.js';
import { abuseIpdbEnricher } from './abuseipdb.js';
import { shodanEnricher } from './shodan.js';
import type { Enricher, EnricherDeps } from './types.js';
import { virusTotalEnricher } from './virustotal.js';

export * from './types.js';
export { VENDORS };

/** The one registry of vendors: a new vendor is a file in this folder, a line here and a config section. */
export function createEnricher(vendor: VendorName, config: Config, deps: EnricherDeps): Enricher | undefined {
  const settings = config.enrichers;
  switch (vendor) {
    case 'virustotal':
      return settings.virustotal?.enabled ? virusTotalEnricher(settings.virustotal, deps) : undefined;
    case 'shodan':
      return settings.shodan?.enabled ? shodanEnricher(settings.shodan, deps) : undefined;
    case 'abuseipdb':
      return settings.abuseipdb?.enabled ? abuseIpdbEnricher(settings.abuseipdb, deps) : undefined;
  }
}

/** Which types each vendor answers for; hashes go to VirusTotal only, IPs to all three. */
export const VENDOR_TYPES: Record<VendorName, readonly IocType[]> = {
  virustotal: ['md5', 'sha1', 'sha256', 'domain', 'ipv4', 'ipv6', 'url'],
  shodan: ['ipv4', 'ipv6'],
  abuseipdb: ['ipv4', 'ipv6'],
};

/** The enabled vendors that can say something about an IOC of this type, in a stable order. */
export function vendorsFor(type: string, config: Config): VendorName[] {
  return VENDORS.filter(
    (vendor) =>
      config.enrichers[vendor]?.enabled && (VENDOR_TYPES[vendor] as readonly string[]).includes(type),
  );
}

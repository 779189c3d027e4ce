import type { SourceConfigOf } from '../config/index.js';
import { abusechExportSource, readAbusechCsv } from './abusech.js';
import { savedDocument, type DocumentPages } from './document.js';
import { blankToUndefined, pagesOfLines } from './delimited.js';
import type { Source } from './types.js';

/**
 * SSLBL's CSV lists, read by their header: the certificate blacklist (`Listingdate,SHA1,Listingreason`,
 * unquoted) and the IP blacklist (`Firstseen,DstIP,DstPort`). A certificate's SHA1 is the fingerprint of an
 * X.509 certificate, not of a file: as a `sha1` IOC a sink would push it to an EDR as a file hash, which
 * matches nothing and misleads whoever reads it, and iocflow has no certificate type. So each listed
 * certificate is skipped, counted as `x509_fingerprint` in the report, like URLhaus's offline URLs: read
 * on purpose and left out, not an error.
 */
export function sslblSource(name: string, config: SourceConfigOf<'sslbl'>): Source {
  return abusechExportSource(name, config, 'SSLBL', sslblPages);
}

/** How the report counts the listed certificates (`skipped.x509_fingerprint`). */
export const CERTIFICATE_SKIP = 'x509_fingerprint';

export const sslblPages: DocumentPages = (settings, body, skipThrough, onTruncated) =>
  pagesOfLines(
    settings,
    readAbusechCsv(settings, body),
    skipThrough,
    (row, position, page) => {
      const header = row.header?.map((h) => h.toLowerCase()) ?? ['listingdate', 'sha1', 'listingreason'];
      const ipAt = header.indexOf('dstip');
      const sha1At = header.indexOf('sha1');
      if (row.fields.length < header.length) {
        page.error(position, `expected ${header.length} columns, found ${row.fields.length}`);
        return;
      }
      if (ipAt >= 0) {
        const ip = blankToUndefined(row.fields[ipAt]);
        if (ip) page.entry({ value: ip, typeHint: 'ip', position, tags: ['c2'] });
        else page.error(position, 'no DstIP');
        return;
      }
      const sha1 = blankToUndefined(row.fields[sha1At >= 0 ? sha1At : 1]);
      if (!sha1) {
        page.error(position, 'no SHA1');
        return;
      }
      page.skip(CERTIFICATE_SKIP);
    },
    onTruncated,
  );

export const readSslblFile = savedDocument('SSLBL', sslblPages);

import type { SourceConfigOf } from '../config/index.js';
import { abusechExportSource, readAbusechCsv } from './abusech.js';
import { savedDocument, type DocumentPages } from './document.js';
import { blankToUndefined, pagesOfLines } from './delimited.js';
import type { Source } from './types.js';

/**
 * SSLBL's CSV lists, read by their header: the certificate blacklist (`Listingdate,SHA1,Listingreason`,
 * unquoted) and the IP blacklist (`Firstseen,DstIP,DstPort`). A certificate's SHA1 is a fingerprint, not a
 * file hash: it goes out with MISP's type name `x509-fingerprint-sha1`, which the normaliser does not map
 * today (rejected as `unknown_type`) rather than being mistyped as a file's SHA1.
 */
export function sslblSource(name: string, config: SourceConfigOf<'sslbl'>): Source {
  return abusechExportSource(name, config, 'SSLBL', sslblPages);
}

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
      const reason = blankToUndefined(row.fields[header.indexOf('listingreason')]);
      page.entry({
        value: sha1,
        typeHint: 'x509-fingerprint-sha1',
        position,
        tags: reason ? [reason] : [],
        ref: `sslbl:${sha1}`,
      });
    },
    onTruncated,
  );

export const readSslblFile = savedDocument('SSLBL', sslblPages);

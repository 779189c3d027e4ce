/**
 * Dates as feeds write them: ISO 8601 (`2024-09-02T06:17:52Z`, with an offset, fractions or date only) and
 * abuse.ch's `2024-09-02 06:17:52` (optionally `UTC` after it). A time without a zone is UTC, as abuse.ch
 * means it; never the worker's local zone, which would move every sighting by the host's offset.
 */
const DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Epoch milliseconds of a feed's date, or undefined when the text is not one of the forms above. */
export function parseSeenTime(text: string): number | undefined {
  const m = DATE.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 31 February over into March: a day the month does not have is no date.
  if (new Date(utc).getUTCDate() !== day) return undefined;
  return utc - offsetMinutes(m[8]) * 60_000;
}

function offsetMinutes(zone: string | undefined): number {
  if (!zone || /^(z|utc|gmt)$/i.test(zone)) return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
  return sign * minutes;
}

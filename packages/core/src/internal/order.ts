/** Orders of text shared by the reports. */

/** Byte order of UTF-8 strings (PostgreSQL's `COLLATE "C"`), which is code point order. */
export const byteOrder = (a: string, b: string): number =>
  Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"))

import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { errorMessage, errorReason } from './scanner';
import type { SkipReason } from './skipReasons';

export type Encoding = 'utf8' | 'utf16le' | 'utf16be' | 'latin1';

export type ReadResult =
  | { ok: true; text: string; encoding: Encoding }
  | { ok: false; reason: SkipReason; detail: string };

/** A line this long means generated or minified code that embeds as noise. */
const MINIFIED_LINE_CHARS = 2_000;
const BINARY_SNIFF_BYTES = 8_000;

/**
 * Reads a file as text, or says why it is not text worth indexing. UTF-16 files with a BOM are
 * decoded; invalid UTF-8 is decoded as Latin-1 rather than dropped, since legacy sources are
 * still worth finding.
 *
 * Synchronous on purpose: it runs on the parsing thread, or on the indexing thread for small
 * files, and the files are almost always in the page cache. The promise API's open, stat, read
 * and close each cross to the I/O pool and back: on 11,000 files that was up to a quarter of the
 * parsing thread's CPU, and the thread sat waiting between files.
 */
export function readSourceFile(absPath: string, maxBytes: number): ReadResult {
  let bytes: Buffer;
  let fd: number | undefined;
  try {
    // Non-blocking, so that a FIFO put where a file was cannot hang the thread on open.
    fd = openSync(absPath, constants.O_RDONLY | constants.O_NONBLOCK);
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { ok: false, reason: 'unreadable', detail: 'not a regular file' };
    if (stat.size > maxBytes) return tooLarge(stat.size, maxBytes);
    bytes = readFileSync(fd);
  } catch (err) {
    return { ok: false, reason: errorReason(err), detail: errorMessage(err) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // It may have grown between the stat and the read.
  if (bytes.length > maxBytes) return tooLarge(bytes.length, maxBytes);
  return decodeSource(bytes);
}

function tooLarge(size: number, maxBytes: number): ReadResult {
  return { ok: false, reason: 'too-large', detail: `${size} bytes > ${maxBytes}` };
}

export function decodeSource(bytes: Buffer): ReadResult {
  let text: string;
  let encoding: Encoding;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    text = bytes.subarray(2).toString('utf16le');
    encoding = 'utf16le';
  } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    text = Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
    encoding = 'utf16be';
  } else {
    if (looksBinary(bytes)) return { ok: false, reason: 'binary', detail: 'contains NUL or control bytes' };
    const hasBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    const body = hasBom ? bytes.subarray(3) : bytes;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
      encoding = 'utf8';
    } catch {
      text = body.toString('latin1');
      encoding = 'latin1';
    }
  }
  if (isMinified(text)) return { ok: false, reason: 'minified', detail: `a line is longer than ${MINIFIED_LINE_CHARS} characters` };
  return { ok: true, text, encoding };
}

function looksBinary(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, BINARY_SNIFF_BYTES);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0) return true;
    // Tab, LF, FF, CR and ESC (ANSI colours in logs) are ordinary in text files.
    if (b < 32 && b !== 9 && b !== 10 && b !== 12 && b !== 13 && b !== 27) control++;
  }
  return n > 0 && control / n > 0.1;
}

function isMinified(text: string): boolean {
  let lineStart = 0;
  let longLines = 0;
  let lines = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text.charCodeAt(i) === 10) {
      lines++;
      if (i - lineStart > MINIFIED_LINE_CHARS) longLines++;
      lineStart = i + 1;
    }
  }
  // One long line in a long file is a data literal worth keeping; mostly long lines is a bundle.
  return longLines > 0 && longLines / lines > 0.2;
}

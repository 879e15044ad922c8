import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/**
 * Reads a streamed answer line by line, each trimmed, text decoded across chunk boundaries (a
 * multi-byte character may be split between two reads); a last line without a line break counts.
 * Returns the first 100 characters received, for the message of a stream that is no answer.
 */
export async function readStreamLines(body: Readable, onLine: (line: string) => void): Promise<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let start = '';
  const onText = (text: string): void => {
    if (start.length < 100) start += text.slice(0, 100);
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      onLine(line);
    }
  };
  for await (const chunk of body) onText(decoder.write(chunk as Buffer));
  onText(`${decoder.end()}\n`);
  return start;
}

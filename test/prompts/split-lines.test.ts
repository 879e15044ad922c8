import { describe, expect, it } from 'vitest';
import { splitLines } from '../../src/prompts/split-lines.js';

async function lines(chunks: (string | Uint8Array)[]): Promise<[number, string][]> {
  async function* source(): AsyncGenerator<string | Uint8Array> {
    yield* chunks;
  }
  const out: [number, string][] = [];
  for await (const line of splitLines(source())) out.push([line.lineNumber, Buffer.from(line.bytes).toString('utf8')]);
  return out;
}

describe('splitLines', () => {
  it('splits on LF and strips a CR before it', async () => {
    expect(await lines(['a\r\nb\nc\r\n'])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
  });

  it('joins lines split across chunks, including a CRLF split between chunks', async () => {
    expect(await lines(['{"pro', 'mpt": 1}\r', '\nnext', '', '\n', 'tail'])).toEqual([
      [1, '{"prompt": 1}'],
      [2, 'next'],
      [3, 'tail'],
    ]);
  });

  it('keeps blank lines so that line numbers stay true to the file', async () => {
    expect(await lines(['\n\nx\n'])).toEqual([
      [1, ''],
      [2, ''],
      [3, 'x'],
    ]);
  });

  it('yields nothing for an empty stream and no extra line after a final newline', async () => {
    expect(await lines([])).toEqual([]);
    expect(await lines(['only\n'])).toEqual([[1, 'only']]);
  });

  it('does not split a multi-byte character divided between chunks', async () => {
    const bytes = Buffer.from('é\n');
    expect(await lines([bytes.subarray(0, 1), bytes.subarray(1)])).toEqual([[1, 'é']]);
  });

  it('reads the source only as far as the consumer asks', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<string> {
      for (let i = 0; i < 1000; i += 1) {
        pulled += 1;
        yield `line ${i}\n`;
      }
    }
    const iterator = splitLines(source());
    const first = await iterator.next();
    expect(Buffer.from(first.value!.bytes).toString()).toBe('line 0');
    expect(pulled).toBe(1);
    await iterator.return(undefined);
  });
});

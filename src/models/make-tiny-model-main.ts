/**
 * Script entry: `node dist/models/make-tiny-model-main.js out.gguf [--embedding 512 --blocks 8 --ff 1024 --heads 8 --ctx 2048 --seed 1]`.
 * Writes a tiny random-weight Llama GGUF (see gguf-writer.ts) and prints its path and size.
 */
import { parseArgs } from 'node:util';
import { AppError, UsageError } from '../errors.js';
import { checkInteger } from '../util/check-option.js';
import { writeTinyLlamaGguf, type TinyLlamaOptions } from './gguf-writer.js';

const USAGE = 'usage: node dist/models/make-tiny-model-main.js out.gguf [--embedding 64] [--blocks 2] [--ff 128] [--heads 4] [--ctx 512] [--seed 1] [--name tiny-llama]';

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    // Seeds may be negative; the model's shape flags are checked >= 1 by writeTinyLlamaGguf.
    return checkInteger(`--${name}`, /^-?\d+$/.test(value.trim()) ? Number(value) : value);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      embedding: { type: 'string' },
      blocks: { type: 'string' },
      ff: { type: 'string' },
      heads: { type: 'string' },
      ctx: { type: 'string' },
      seed: { type: 'string' },
      name: { type: 'string' },
    },
  });
  const out = positionals[0];
  if (out === undefined || positionals.length > 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const options: TinyLlamaOptions = {
    embeddingLength: integerFlag('embedding', values.embedding),
    blockCount: integerFlag('blocks', values.blocks),
    feedForwardLength: integerFlag('ff', values.ff),
    headCount: integerFlag('heads', values.heads),
    contextLength: integerFlag('ctx', values.ctx),
    seed: integerFlag('seed', values.seed),
    ...(values.name === undefined ? {} : { name: values.name }),
  };
  const result = await writeTinyLlamaGguf(out, options);
  process.stdout.write(`${result.path} ${result.bytes} bytes\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof AppError ? error.exitCode : 1;
  },
);

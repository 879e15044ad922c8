import { applyAnswerShape } from '../../prompts/apply-answer-shape.js';
import { selectInputShard, type InputShard, type ShardSelection } from '../../prompts/input-shard.js';
import type { InputContentHash } from '../../prompts/input-content-hash.js';
import type { LoadedJsonSchema } from '../../prompts/load-json-schema.js';
import type { PromptRecord } from '../../prompts/prompt-item.js';
import { readPrompts, type ReadPromptsOptions } from '../../prompts/read-prompts.js';
import { templateInputsOf, type JobTemplate } from './job-template.js';

/** What a job's prompts are read from, and which of them it sends. */
export interface ReadJobPromptsOptions extends Omit<ReadPromptsOptions, 'template'> {
  /** `--template` over `--data` rows, read after the inputs. */
  readonly template?: JobTemplate;
  /** `--shard K/N`: only the prompts of this shard. @default every prompt */
  readonly shard?: InputShard;
  /** Counts every prompt read, in any shard (to tell an empty shard from empty inputs). */
  readonly selection?: ShardSelection;
  /** `--json-schema`: the answer shape of prompts that ask for none. */
  readonly jsonSchema?: LoadedJsonSchema;
  /** Hashes every prompt read, in every shard: the job's content fingerprint. @default none */
  readonly contentHash?: InputContentHash;
  /** `--priority FILE=N` as `filePriorityMap` made it: inputs' and --data files' default priorities. @default none */
  readonly filePriorities?: ReadonlyMap<string, number>;
}

/**
 * A job's prompt records as `batch run` sends them and `--dry-run` counts them: its inputs and
 * template rows, its shard only, each with the answer shape it asks for.
 */
export function readJobPrompts(inputs: readonly string[], options: ReadJobPromptsOptions): AsyncIterable<PromptRecord> {
  const { template, shard, selection, jsonSchema, contentHash, filePriorities, ...reading } = options;
  const priorities = filePriorities === undefined ? {} : { inputPriorities: filePriorities };
  const all = readPrompts(inputs, { ...reading, ...priorities, ...(template === undefined ? {} : { template: templateInputsOf(template, filePriorities) }) });
  const read = contentHash === undefined ? all : contentHash.tap(all);
  return applyAnswerShape(shard === undefined ? read : selectInputShard(read, shard, selection), jsonSchema);
}

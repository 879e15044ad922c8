import type { SchedulerListener } from '../../scheduler/batch-scheduler.js';
import type { JobSettings } from '../settings/settings-table.js';

/**
 * What `batch run` and `batch resume` take: the inputs, and the settings given now (flags). The
 * job's saved settings, saved advice and the settings table's defaults fill in the rest.
 */
export interface RunJobOptions extends JobSettings {
  /** Prompt folders, files, globs, or `-` (stdin). Empty for `resume`. */
  readonly inputs: readonly string[];
  /** Continue a job instead of reading inputs (`batch resume`). @default false */
  readonly resume?: boolean;
  /** Job name. @default derived from the inputs, so the same inputs continue the same job */
  readonly job?: string;
  /** Job database. @default <BATCH_HOME>/<job>.sqlite */
  readonly db?: string;
  /**
   * Send failed prompts again (resume). The inputs are read again first (unless they came from
   * stdin), so a line fixed since it was found unreadable is sent. @default false
   */
  readonly retryFailed?: boolean;
  /** Reuse answers from earlier jobs in the same database. @default false */
  readonly cache?: boolean;
}

export interface RunJobContext {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadableStream;
  readonly softStop?: AbortSignal;
  readonly hardStop?: AbortSignal;
  /** Progress and notices. */
  readonly listener?: SchedulerListener;
  /**
   * Called before the first prompt is sent, with the number to send. `reading`: the inputs are
   * still being read, and `onTotal` tells how the number grows. `deadlineAt`: when the run stops
   * sending (`--until`, `--for`), epoch ms.
   */
  readonly onStart?: (info: { readonly pending: number; readonly job: string; readonly reading?: boolean; readonly deadlineAt?: number }) => void | Promise<void>;
  /** The number of prompts to send grew (inputs read while sending), or reading ended. */
  readonly onTotal?: (info: { readonly pending: number; readonly reading: boolean }) => void;
  readonly notice?: (line: string) => void;
  /** Where `--on-finish`'s output and failures go (`--quiet` does not hide them). @default process.stderr */
  readonly stderr?: NodeJS.WritableStream;
  /** The command line, recorded with the run (secrets scrubbed). @default process.argv.slice(2) */
  readonly argv?: readonly string[];
}

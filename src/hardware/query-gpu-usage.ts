import { childProcess } from '../util/child-process.js';
import { findExecutable } from '../util/find-executable.js';

/** One GPU's load and memory right now; a figure the driver does not report is null. */
export interface GpuUsage {
  readonly index: number;
  readonly name: string;
  /** Share of the driver's last sampling period (1/6 s to 1 s) the GPU was busy, 0-100. */
  readonly utilizationPct: number | null;
  readonly memoryUsedBytes: number | null;
  readonly memoryTotalBytes: number | null;
}

/** The fields asked of nvidia-smi, in the order `parseGpuUsage` reads them. */
export const nvidiaSmiUsageArgs: readonly string[] = ['--query-gpu=index,name,utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'];

/** The fields asked of nvidia-smi per process, in the order `parseProcessGpuMemory` reads them. */
export const nvidiaSmiProcessArgs: readonly string[] = ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'];

const mib = 1024 * 1024;

/**
 * Reads GPU load with one `nvidia-smi` query: cheap (tens of ms), unlike a full hardware probe.
 * Made for sampling while a batch runs.
 */
export class GpuUsageReader {
  readonly #nvidiaSmi: string;
  readonly #timeoutMs: number;

  /** A reader when `nvidia-smi` is on `env.PATH`, else undefined (no NVIDIA GPU to read). */
  static find(env: Readonly<Record<string, string | undefined>>, options: { readonly timeoutMs?: number } = {}): GpuUsageReader | undefined {
    const nvidiaSmi = findExecutable('nvidia-smi', env);
    return nvidiaSmi === undefined ? undefined : new GpuUsageReader(nvidiaSmi, options.timeoutMs ?? 2000);
  }

  constructor(nvidiaSmi: string, timeoutMs: number) {
    this.#nvidiaSmi = nvidiaSmi;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Every GPU's usage, or undefined when nvidia-smi fails, answers nothing readable, or takes longer
   * than the timeout (it is killed): a sample without GPU figures beats a stalled one.
   */
  /**
   * GPU memory each process uses, in bytes by pid, summed over GPUs (`--query-compute-apps`), or
   * undefined when nvidia-smi fails: what `batch ps` shows beside a model server's RSS.
   */
  readProcessMemory(): Promise<Map<number, number> | undefined> {
    return new Promise((resolve) => {
      childProcess().execFile(this.#nvidiaSmi, nvidiaSmiProcessArgs, { timeout: this.#timeoutMs, killSignal: 'SIGKILL', windowsHide: true, maxBuffer: 1024 * 1024 }, (error, stdout) => {
        resolve(error === null ? parseProcessGpuMemory(stdout) : undefined);
      });
    });
  }

  read(): Promise<GpuUsage[] | undefined> {
    return new Promise((resolve) => {
      childProcess().execFile(this.#nvidiaSmi, nvidiaSmiUsageArgs, { timeout: this.#timeoutMs, killSignal: 'SIGKILL', windowsHide: true, maxBuffer: 1024 * 1024 }, (error, stdout) => {
        if (error !== null) return resolve(undefined);
        const gpus = parseGpuUsage(stdout);
        resolve(gpus.length > 0 ? gpus : undefined);
      });
    });
  }
}

/**
 * Parses `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total
 * --format=csv,noheader,nounits`: one line per GPU, memory in MiB. `[N/A]` and `[Not Supported]`
 * become null; lines that are not of that shape are skipped.
 */
export function parseGpuUsage(csv: string): GpuUsage[] {
  const gpus: GpuUsage[] = [];
  for (const line of csv.split(/\r?\n/)) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length < 5) continue;
    // A GPU name may itself hold a comma: the three numbers are always the last fields.
    const [utilization, used, total] = fields.slice(-3);
    const index = Number(fields[0]);
    if (fields[0] === '' || !Number.isInteger(index) || index < 0) continue;
    const usedMiB = numberOrNull(used!);
    const totalMiB = numberOrNull(total!);
    gpus.push({
      index,
      name: fields.slice(1, -3).join(', '),
      utilizationPct: numberOrNull(utilization!),
      memoryUsedBytes: usedMiB === null ? null : Math.round(usedMiB * mib),
      memoryTotalBytes: totalMiB === null ? null : Math.round(totalMiB * mib),
    });
  }
  return gpus;
}

function numberOrNull(field: string): number | null {
  if (field === '' || field.startsWith('[')) return null;
  const value = Number(field);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

/**
 * Parses `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits`: one line
 * per process and GPU, memory in MiB; a process on several GPUs is summed. Other lines are skipped.
 */
export function parseProcessGpuMemory(csv: string): Map<number, number> {
  const used = new Map<number, number>();
  for (const line of csv.split(/\r?\n/)) {
    const [pidField, memoryField] = line.split(',').map((field) => field.trim());
    const pid = Number(pidField);
    const memory = numberOrNull(memoryField ?? '');
    if (pidField === '' || !Number.isInteger(pid) || pid <= 0 || memory === null) continue;
    used.set(pid, (used.get(pid) ?? 0) + Math.round(memory * mib));
  }
  return used;
}

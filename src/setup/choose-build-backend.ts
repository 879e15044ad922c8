import { existsSync, readdirSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { UsageError } from '../errors.js';
import { isExecutableFile } from '../util/is-executable-file.js';
import type { LlamaBuildBackend } from './llama-cpp-cache.js';

/** What the machine offers a CUDA build. Injected in tests. */
export interface CudaProbe {
  /** The CUDA compiler (`nvcc`), or undefined when the toolkit is missing. */
  readonly nvcc: string | undefined;
  /** Whether an NVIDIA driver with a GPU is present (a CUDA build runs only there). */
  readonly gpu: boolean;
}

/** The backend chosen, the compiler it needs, and why, in words for the user. */
export interface BuildBackendChoice {
  readonly backend: LlamaBuildBackend;
  readonly nvcc?: string;
  readonly reason: string;
}

/** Looks for `nvcc` (PATH, `$CUDA_PATH/bin`, `/usr/local/cuda/bin`) and an NVIDIA GPU (its driver's /dev and /proc entries). */
export function probeCuda(env: Readonly<Record<string, string | undefined>>): CudaProbe {
  const dirs = [...(env.PATH ?? '').split(delimiter), env.CUDA_PATH ? join(env.CUDA_PATH, 'bin') : '', '/usr/local/cuda/bin'];
  const nvcc = dirs.filter((dir) => dir !== '' && isAbsolute(dir)).map((dir) => join(dir, 'nvcc')).find(isExecutableFile);
  return { nvcc, gpu: existsSync('/dev/nvidia0') || listsGpu('/proc/driver/nvidia/gpus') };
}

/**
 * `auto`: CUDA where both the toolkit and a GPU are here (a toolkit without a GPU builds a binary
 * that cannot start, in an hour instead of twenty minutes), else the CPU. `cuda` insists on the
 * toolkit; `cpu` never uses it.
 */
export function chooseBuildBackend(requested: 'auto' | 'cpu' | 'cuda', probe: CudaProbe): BuildBackendChoice {
  if (requested === 'cpu') return { backend: 'cpu', reason: 'CPU, as asked' };
  if (requested === 'cuda') {
    if (probe.nvcc === undefined) {
      throw new UsageError('--backend cuda: no CUDA compiler (nvcc) on PATH, in $CUDA_PATH/bin or in /usr/local/cuda/bin; install the CUDA toolkit or use --backend cpu');
    }
    return { backend: 'cuda', nvcc: probe.nvcc, reason: `CUDA, as asked (${probe.nvcc})` };
  }
  if (probe.nvcc === undefined) return { backend: 'cpu', reason: 'CPU: no CUDA toolkit (nvcc) found' };
  if (!probe.gpu) return { backend: 'cpu', reason: `CPU: the CUDA toolkit is here (${probe.nvcc}) but no NVIDIA GPU is; --backend cuda builds for CUDA anyway` };
  return { backend: 'cuda', nvcc: probe.nvcc, reason: `CUDA: toolkit ${probe.nvcc} and an NVIDIA GPU found` };
}

function listsGpu(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

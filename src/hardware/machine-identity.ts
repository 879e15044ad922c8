import os from 'node:os';

const GIB = 2 ** 30;

/**
 * What saved advice must match before `batch run` trusts it, read in microseconds from `node:os`
 * (no hardware probe on the run path): OS, architecture, CPU model and count, total memory in
 * GiB. The same machine always gives the same identity; a different machine, or the same folder
 * on a bigger or smaller one (a shared disk, a copied checkpoints/), gives another. GPUs are not
 * part of it: reading them costs an `nvidia-smi` call.
 */
export function machineIdentity(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim().replace(/\s+/g, ' ') || 'unknown CPU';
  return `${os.platform()}-${os.arch()}; ${model} x${cpus.length}; ${Math.round(os.totalmem() / GIB)} GiB RAM`;
}

import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { chooseBuildBackend } from '../../src/setup/choose-build-backend.js';

describe('chooseBuildBackend', () => {
  it('auto: CUDA only with both the toolkit and a GPU, else the CPU, saying why', () => {
    expect(chooseBuildBackend('auto', { nvcc: '/cuda/bin/nvcc', gpu: true })).toEqual({ backend: 'cuda', nvcc: '/cuda/bin/nvcc', reason: 'CUDA: toolkit /cuda/bin/nvcc and an NVIDIA GPU found' });
    expect(chooseBuildBackend('auto', { nvcc: '/cuda/bin/nvcc', gpu: false })).toMatchObject({ backend: 'cpu', reason: expect.stringContaining('no NVIDIA GPU') });
    expect(chooseBuildBackend('auto', { nvcc: undefined, gpu: true })).toEqual({ backend: 'cpu', reason: 'CPU: no CUDA toolkit (nvcc) found' });
  });

  it('cpu never uses CUDA; cuda insists on nvcc', () => {
    expect(chooseBuildBackend('cpu', { nvcc: '/cuda/bin/nvcc', gpu: true }).backend).toBe('cpu');
    expect(chooseBuildBackend('cuda', { nvcc: '/cuda/bin/nvcc', gpu: false })).toMatchObject({ backend: 'cuda', nvcc: '/cuda/bin/nvcc' });
    expect(() => chooseBuildBackend('cuda', { nvcc: undefined, gpu: true })).toThrow(UsageError);
    expect(() => chooseBuildBackend('cuda', { nvcc: undefined, gpu: true })).toThrow('install the CUDA toolkit or use --backend cpu');
  });
});

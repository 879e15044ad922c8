import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseHardwareProfile } from '../../src/hardware/parse-hardware-profile.js';

const valid = {
  cpu: { brand: 'x', physicalCores: 8 },
  memory: { totalBytes: 1000 },
  gpus: [{ vendor: 'NVIDIA', model: 'RTX', vramTotalBytes: 2000 }],
};

describe('parseHardwareProfile', () => {
  it('fills the optional fields with the probe defaults', () => {
    expect(parseHardwareProfile(JSON.stringify(valid), 'profile.json')).toEqual({
      cpu: { brand: 'x', physicalCores: 8, logicalCores: 8 },
      memory: { totalBytes: 1000, availableBytes: 1000 },
      gpus: [{ vendor: 'NVIDIA', model: 'RTX', vramTotalBytes: 2000 }],
      unifiedMemory: false,
      os: { platform: 'unknown', distro: 'unknown', release: 'unknown', arch: 'unknown' },
      notes: [],
    });
  });

  it('names the field, the value seen and the source', () => {
    const bad = { ...valid, gpus: [{ vendor: 'NVIDIA', model: 'RTX', vramTotalBytes: '24GB' }] };
    expect(() => parseHardwareProfile(bad, 'profile.json')).toThrow(new UsageError('profile.json: expected `gpus[0].vramTotalBytes` to be a number, got "24GB"'));
    expect(() => parseHardwareProfile({ ...valid, cpu: { physicalCores: 2.5 } }, 'p.json')).toThrow('p.json: expected `cpu.physicalCores` to be a whole number, got 2.5');
    expect(() => parseHardwareProfile({ ...valid, gpus: {} }, 'p.json')).toThrow('p.json: expected `gpus` to be an array ([] when there is no GPU), got an object');
    expect(() => parseHardwareProfile('{oops', 'p.json')).toThrow(/^p\.json: expected a JSON hardware profile, got invalid JSON/);
    expect(() => parseHardwareProfile([], 'p.json')).toThrow('p.json: expected the profile to be an object, got an empty array');
  });
});

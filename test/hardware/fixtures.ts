import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HardwareSummary } from '../../src/hardware/hardware-summary.js';
import type { ModelProfile } from '../../src/hardware/model-profile.js';
import { parseHardwareProfile } from '../../src/hardware/parse-hardware-profile.js';

/** Absolute path of a file in test/hardware/fixtures. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** A hardware profile fixture, validated as `--hardware` would. */
export function hardwareFixture(name: string): HardwareSummary {
  return parseHardwareProfile(readFileSync(fixturePath(name), 'utf8'), name);
}

/** A model profile from fixtures/models.json. */
export function modelFixture(id: string): ModelProfile {
  const models = JSON.parse(readFileSync(fixturePath('models.json'), 'utf8')) as Record<string, ModelProfile>;
  const model = models[id];
  if (model === undefined) throw new Error(`no model fixture ${id}`);
  return model;
}

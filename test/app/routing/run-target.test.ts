import { describe, expect, it } from 'vitest';
import { backendOptionsOf } from '../../../src/app/routing/backend-options.js';
import { planRequestGate, probeCeiling } from '../../../src/app/routing/plan-request-gate.js';
import { resolveRunTarget } from '../../../src/app/routing/run-target.js';
import { resolveRunSettings } from '../../../src/app/settings/resolve-run-settings.js';

describe('resolveRunTarget', () => {
  it('is a fleet when --server or --servers is given, whatever models are named', () => {
    expect(resolveRunTarget({ servers: ['http://127.0.0.1:1'], models: ['m.gguf'] })).toEqual({ kind: 'fleet', servers: ['http://127.0.0.1:1'], serversFile: undefined, serverType: undefined });
    expect(resolveRunTarget({ serversFile: '/f.json', serverType: 'ollama' })).toEqual({ kind: 'fleet', servers: [], serversFile: '/f.json', serverType: 'ollama' });
  });

  it('is managed servers otherwise: the models given, or none (the default model)', () => {
    expect(resolveRunTarget({ servers: [], models: ['a=/m/a.gguf'], modelsDir: '/m' })).toEqual({ kind: 'managed', models: ['a=/m/a.gguf'], modelsDir: '/m' });
    expect(resolveRunTarget({})).toEqual({ kind: 'managed', models: [], modelsDir: undefined });
  });

  it('decides the request gate: a fleet server that reports no slots is probed, managed servers never are', () => {
    const fleet = resolveRunTarget({ servers: ['http://127.0.0.1:1'] });
    const { settings } = resolveRunSettings({ servers: ['http://127.0.0.1:1'] }, undefined, fleet);
    expect(planRequestGate(fleet, settings, undefined, undefined).workers).toBe(probeCeiling);
    const managed = resolveRunTarget({});
    expect(planRequestGate(managed, resolveRunSettings({}, undefined, managed).settings, undefined, undefined).workers).toBeLessThan(probeCeiling);
  });
});

describe('backendOptionsOf', () => {
  it('builds every backend from the same settings: stream, keep-alive, the stall timeout in whole ms', () => {
    expect(backendOptionsOf({ stream: true, keepAlive: '5m', stallTimeoutMs: 250.2 }, 4)).toEqual({ connections: 4, stream: true, keepAlive: '5m', stallTimeoutMs: 251 });
    expect(backendOptionsOf({ stallTimeoutMs: 0.1 }, 1).stallTimeoutMs).toBe(1);
    expect(backendOptionsOf({}, 2)).toEqual({ connections: 2, stream: undefined, keepAlive: undefined, stallTimeoutMs: undefined });
  });
});

import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseEmbeddedServerFlags } from '../../src/embedded/embedded-server-flags.js';

describe('parseEmbeddedServerFlags', () => {
  it('reads argv text (the server process) and parsed numbers (`batch serve`) the same way', () => {
    const fromText = parseEmbeddedServerFlags({ model: 'm.gguf', port: '8081', slots: '2', contextSize: '0', threads: '3', gpu: 'off' }, 0);
    const fromNumbers = parseEmbeddedServerFlags({ model: 'm.gguf', port: 8081, slots: 2, contextSize: 0, threads: 3, gpu: 'off' }, 8080);
    expect(fromText).toEqual({ modelPath: 'm.gguf', host: '127.0.0.1', port: 8081, slots: 2, contextSize: 0, threads: 3, gpu: false });
    expect(fromNumbers).toEqual(fromText);
  });

  it('fills the caller default port and loopback host, and leaves the rest to the server', () => {
    expect(parseEmbeddedServerFlags({ slots: 1, contextSize: 0 }, 8080)).toEqual({ host: '127.0.0.1', port: 8080, slots: 1, contextSize: 0, gpu: 'auto' });
    expect(parseEmbeddedServerFlags({ slots: 1, contextSize: 0, host: '0.0.0.0' }, 0)).toMatchObject({ host: '0.0.0.0', port: 0 });
  });

  it('refuses a bad flag with UsageError naming it', () => {
    const cases: Array<[Parameters<typeof parseEmbeddedServerFlags>[0], string]> = [
      [{ slots: 1, contextSize: 0, gpu: 'maybe' }, 'expected `--gpu` to be "auto" or "off", got "maybe"'],
      [{ slots: 1, contextSize: 0, port: '70000' }, 'expected `--port` to be a whole number from 0 to 65535, got 70000'],
      [{ slots: 1, contextSize: 0, port: 'http' }, 'expected `--port` to be a whole number from 0 to 65535, got "http"'],
      [{ slots: '0' }, 'expected `--slots` to be a whole number >= 1, got 0'],
      [{ slots: 1, contextSize: 0, threads: 1.5 }, 'expected `--threads` to be a whole number >= 1, got 1.5'],
      [{ slots: 1, contextSize: '-1' }, 'expected `--ctx` to be a whole number >= 0, got "-1"'],
      [{ slots: 1, contextSize: 0, host: '' }, 'expected `--host` to be a host name or address, got ""'],
    ];
    for (const [flags, message] of cases) {
      expect(() => parseEmbeddedServerFlags(flags, 0)).toThrow(new UsageError(message));
      expect(() => parseEmbeddedServerFlags(flags, 0)).toThrow(UsageError);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { isLoopback, isLoopbackHost } from '../../src/backends/is-loopback.js';

describe('isLoopbackHost', () => {
  it('accepts localhost, every 127.x address and ::1, bracketed or not', () => {
    expect(['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '[::1]', 'localhost', 'LocalHost'].map(isLoopbackHost)).toEqual([true, true, true, true, true, true, true]);
  });

  it('refuses other interfaces and names that only start like a loopback address', () => {
    expect(['0.0.0.0', '192.168.1.5', '::', '128.0.0.1', '127.0.0.1.nip.io', 'localhost.example.com', ''].map(isLoopbackHost)).toEqual([false, false, false, false, false, false, false]);
  });
});

describe('isLoopback', () => {
  it('reads the host of a URL', () => {
    expect(['http://127.0.0.1:8080/v1', 'http://127.1:8080', 'http://[::1]:11434', 'https://localhost', 'http://[0:0::1]/'].map(isLoopback)).toEqual([true, true, true, true, true]);
    expect(['https://api.openai.com/v1', 'http://10.0.0.2:8080', 'http://127.0.0.1.nip.io:8080'].map(isLoopback)).toEqual([false, false, false]);
  });

  it('returns false, never throws, for text that is not a URL', () => {
    expect(['', 'not a url', '127.0.0.1:8080', 'http://'].map(isLoopback)).toEqual([false, false, false, false]);
  });
});

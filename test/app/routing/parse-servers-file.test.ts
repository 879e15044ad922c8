import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { parseServers, parseServersFile } from '../../../src/app/routing/parse-servers-file.js';

const file = 'fleet.json';

function refusal(text: string): string {
  try {
    parseServers(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${text}`);
}

describe('parseServers: a --servers file', () => {
  it('reads every field and normalises URLs as --server does', () => {
    const servers = parseServers(
      JSON.stringify([
        { url: 'http://10.0.0.5:8080/v1', type: 'llama-server', slots: 8, weight: 2, models: ['m'], apiKeyEnv: 'KEY_A' },
        { url: 'https://api.example.com' },
      ]),
      file,
    );
    expect(servers).toEqual([
      { url: 'http://10.0.0.5:8080', type: 'llama-server', slots: 8, weight: 2, models: ['m'], apiKeyEnv: 'KEY_A' },
      { url: 'https://api.example.com', type: undefined, slots: undefined, weight: undefined, models: undefined, apiKeyEnv: undefined },
    ]);
  });

  it('names the file, the entry, the field, the value and the fix', () => {
    expect(refusal('[{"url": "http://a:1",}]')).toMatch(/^--servers fleet\.json: not valid JSON \(.+\); expected an array such as \[/);
    expect(refusal('{"url": "http://a:1"}')).toMatch(/^--servers fleet\.json: expected a non-empty JSON array of servers .*, got \{"url":"http:\/\/a:1"\}/);
    expect(refusal('[]')).toMatch(/expected a non-empty JSON array/);
    expect(refusal('[{"url": "http://a:1"}, {"url": "http://b:1", "type": "vllm"}]')).toBe(
      '--servers fleet.json: entry 2 (servers[1]) field "type": expected one of openai, llama-server, ollama (or no "type", to detect it), got "vllm"',
    );
    expect(refusal('[{"url": "http://a:1", "slots": 0}]')).toBe('--servers fleet.json: entry 1 (servers[0]) field "slots": expected a whole number >= 1 (the requests it runs at once), got 0');
    expect(refusal('[{"url": "http://a:1", "slots": "8"}]')).toMatch(/field "slots": .* got "8"/);
    expect(refusal('[{"url": "http://a:1", "weight": -1}]')).toMatch(/field "weight": expected a number > 0/);
    expect(refusal('[{"url": "http://a:1", "models": []}]')).toMatch(/field "models": expected a non-empty array/);
    expect(refusal('[{"url": "a:1"}]')).toMatch(/entry 1 \(servers\[0\]\) field "url": add the scheme: http:\/\/a:1/);
    expect(refusal('[{"slots": 2}]')).toMatch(/field "url": expected the server's base URL .*, got nothing/);
    expect(refusal('[{"url": "http://a:1", "slot": 2}]')).toMatch(/unknown field "slot"; the fields are url, type, models, slots, weight, apiKeyEnv/);
    expect(refusal('[{"url": "http://a:1"}, {"url": "http://a:1/"}]')).toMatch(/entry 2 names http:\/\/a:1 again \(entry 1 has it\)/);
    expect(refusal('["http://a:1"]')).toMatch(/entry 1 \(servers\[0\]\): expected an object/);
  });

  it('never quotes what may be a key put where a variable name belongs', () => {
    const message = refusal('[{"url": "http://a:1", "apiKeyEnv": "sk-secret value"}]');
    expect(message).toMatch(/field "apiKeyEnv": expected the name of an environment variable/);
    expect(message).not.toContain('sk-secret');
  });

  it('says when the file cannot be read', () => {
    expect(() => parseServersFile('/nonexistent/fleet.json')).toThrow(/--servers \/nonexistent\/fleet\.json: cannot read it \(ENOENT\)/);
  });
});

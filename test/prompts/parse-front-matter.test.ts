import { describe, expect, it } from 'vitest';
import { parseFrontMatter } from '../../src/prompts/parse-front-matter.js';

describe('parseFrontMatter', () => {
  it('returns the whole text when there is no front matter', () => {
    expect(parseFrontMatter('Just a prompt\n---\nwith a rule')).toEqual({ ok: true, fields: {}, body: 'Just a prompt\n---\nwith a rule' });
  });

  it('reads every supported key with plain, quoted and numeric values', () => {
    const text = [
      '---',
      'model: qwen2.5:7b',
      "system: 'It''s a reviewer: be brief.'",
      'temperature: 0',
      'max_tokens: 64 # keep it short',
      'seed: -3',
      'stop: "\\n\\n"',
      '---',
      'The prompt',
    ].join('\n');
    expect(parseFrontMatter(text)).toEqual({
      ok: true,
      fields: { model: 'qwen2.5:7b', system: "It's a reviewer: be brief.", temperature: 0, max_tokens: 64, seed: -3, stop: '\n\n' },
      body: 'The prompt',
    });
  });

  it('reads stop as an inline list or a block list, with CRLF line ends', () => {
    const inline = parseFrontMatter('---\r\nstop: [END, "a, b", \'x\']\r\n---\r\nP');
    expect(inline).toEqual({ ok: true, fields: { stop: ['END', 'a, b', 'x'] }, body: 'P' });
    const block = parseFrontMatter('---\nstop:\n  - "```"\n  - END\ntemperature: 0.5\n---\nP');
    expect(block).toEqual({ ok: true, fields: { stop: ['```', 'END'], temperature: 0.5 }, body: 'P' });
  });

  it('skips blank and comment lines', () => {
    expect(parseFrontMatter('---\n# settings\n\nseed: 1\n---\nP')).toEqual({ ok: true, fields: { seed: 1 }, body: 'P' });
  });

  it.each([
    ['---\ntemperature: 0\ntemperature: hot\n---\nP', 3, 'expected `temperature` once, got it again (first on line 2)'],
    ['---\nmax_tokens: 64\ntemperature: hot\n---\nP', 3, 'expected `temperature` to be a number, got "hot"'],
    ['---\nmax_tokens: 0\n---\nP', 2, 'expected `max_tokens` to be a positive integer, got 0'],
    ['---\nseed: 1.5\n---\nP', 2, 'expected `seed` to be an integer, got 1.5'],
    ['---\nstop: [1, 2]\n---\nP', 2, 'expected `stop` to be a string or a list of strings, got an array'],
    ['---\nsystem: [a]\n---\nP', 2, 'expected `system` to be a string, got an array'],
    ['---\nsystem:\n---\nP', 2, 'expected `system` to be a string, got null'],
    ['---\n\ntemprature: 0\n---\nP', 3, 'expected one of the keys model, system, temperature, max_tokens, seed, stop, got `temprature`'],
    ['---\njust words\n---\nP', 2, 'expected `key: value`, got "just words"'],
    ['---\n  - x\n---\nP', 2, 'expected `key: value`, got a list item outside a list: "  - x"'],
    ['---\nstop: [a, b\n---\nP', 2, 'expected `,` or `]` in the list, got the end of the line'],
    ['---\nsystem: "unterminated\n---\nP', 2, 'expected a closing " quote, got the end of the line'],
    ['---\nseed: 1\nP', 1, 'expected a closing `---` line to end the front matter, got the end of the file'],
  ])('reports %j on line %i', (text, line, detail) => {
    expect(parseFrontMatter(text)).toEqual({ ok: false, line, detail });
  });
});

import { AppError } from '../errors.js';
import { answerShapeOf } from './answer-shape.js';

type Json = Record<string, unknown>;

/** `data:<type>;base64,<data>`: the only image source Ollama's native API takes (inline). */
const dataUrl = /^data:([^;,]*)(?:;[^;,]*)*;base64,(.*)$/s;

/**
 * OpenAI chat messages as Ollama's /api/chat takes them: `content` a string (the text parts of an
 * array-of-parts content joined by newlines) and images as base64 in `images`. Ollama fetches
 * no URL, so an image that is not a `data:` URL fails the prompt with PROMPT_INVALID (not retried).
 */
export function ollamaMessages(messages: unknown): unknown {
  if (!Array.isArray(messages)) return messages;
  return messages.map((message: unknown, index) => {
    if (typeof message !== 'object' || message === null) return message;
    const { content, ...rest } = message as Json;
    if (!Array.isArray(content)) return message;
    const texts: string[] = [];
    const images: string[] = Array.isArray(rest.images) ? [...(rest.images as string[])] : [];
    content.forEach((part: unknown, partIndex) => {
      const where = `messages[${index}].content[${partIndex}]`;
      if (typeof part === 'string') {
        texts.push(part);
        return;
      }
      const { type, text, image_url: imageUrl } = (part ?? {}) as Json;
      if (type === 'text' && typeof text === 'string') {
        texts.push(text);
      } else if (type === 'image_url') {
        const url = typeof imageUrl === 'string' ? imageUrl : typeof imageUrl === 'object' && imageUrl !== null ? (imageUrl as Json).url : undefined;
        const match = typeof url === 'string' ? dataUrl.exec(url) : null;
        if (match === null) {
          const seen = typeof url === 'string' ? JSON.stringify(url.length > 60 ? `${url.slice(0, 60)}…` : url) : JSON.stringify(imageUrl);
          throw new AppError('PROMPT_INVALID', `${where}: Ollama takes images only inline, as base64 data: URLs (data:image/png;base64,…), got ${seen}; download the image and inline it`);
        }
        images.push(match[2]!);
      } else {
        throw new AppError('PROMPT_INVALID', `${where}: Ollama's chat takes text and image_url parts, got ${JSON.stringify(type ?? part)}; send text or a base64 data: URL image`);
      }
    });
    return images.length > 0 ? { ...rest, content: texts.join('\n'), images } : { ...rest, content: texts.join('\n') };
  });
}

/**
 * Ollama's `format` for the JSON shape a request asks for (`response_format`): the schema
 * object itself for `json_schema`, `"json"` for `json_object`, nothing otherwise.
 */
export function ollamaFormat(body: Readonly<Json>): unknown {
  const shape = answerShapeOf(body);
  if (shape === undefined) return undefined;
  return shape.kind === 'json_schema' ? shape.schema : 'json';
}

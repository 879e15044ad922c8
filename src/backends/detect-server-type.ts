import { BackendError } from '../errors.js';
import { checkNumber } from '../util/check-option.js';
import type { ServerType } from './backend.js';
import { HttpEndpoint, type HttpAnswer } from './http-endpoint.js';

export interface DetectServerTypeOptions {
  /** Sent as `Authorization: Bearer …` (an OpenAI-compatible server may refuse /v1/models without it). */
  readonly apiKey?: string;
  /** Deadline of each probe request, in milliseconds. @default 5000 */
  readonly timeoutMs?: number;
  /** Time to open the TCP connection. @default 5000 */
  readonly connectTimeoutMs?: number;
}

/**
 * Which flavour a server is, by asking it: Ollama answers /api/version (or "Ollama is running" at
 * /), llama-server /props with `total_slots`, any OpenAI-compatible server /v1/models. The first
 * two are asked at once (one round trip before the first prompt instead of two; an Ollama also
 * gets a /props, which it answers 404). An unreachable server fails here, before any prompt is
 * sent, naming the URL. `url` is a base URL as `normaliseServerUrl` returns it.
 */
export async function detectServerType(url: string, options: DetectServerTypeOptions = {}): Promise<ServerType> {
  const timeoutMs = options.timeoutMs ?? 5000;
  checkNumber('timeoutMs', timeoutMs, 0, true);
  const http = new HttpEndpoint({ url, apiKey: options.apiKey, connections: 2, connectTimeoutMs: options.connectTimeoutMs ?? timeoutMs });
  const seen: string[] = [];
  const ask = (path: string): Promise<HttpAnswer> => http.send('GET', path, undefined, { timeoutMs });
  const probe = async (path: string): Promise<HttpAnswer> => {
    const answer = await ask(path);
    seen.push(`GET ${path} → ${answer.statusCode}`);
    return answer;
  };
  /** At start-up nothing has been sent yet: retrying will not help, fixing --server will. */
  const startFailure = (path: string, error: unknown): BackendError => {
    const mapped = error as BackendError;
    const message =
      mapped.code === 'REQUEST_TIMEOUT'
        ? `${url} accepted the connection but did not answer GET ${path} within ${timeoutMs} ms: check that --server points at a model server`
        : mapped.message;
    return new BackendError(mapped.code, url, message, { retryable: false, cause: error });
  };
  try {
    // Both settle before either is judged, so that neither rejects unheard.
    const [versionProbe, propsProbe] = await Promise.allSettled([ask('/api/version'), ask('/props')]);
    if (versionProbe.status === 'rejected') throw startFailure('/api/version', versionProbe.reason);
    const version = versionProbe.value;
    seen.push(`GET /api/version → ${version.statusCode}`);
    if (version.statusCode === 200 && /"version"/.test(version.text)) return 'ollama';
    if (propsProbe.status === 'rejected') throw startFailure('/props', propsProbe.reason);
    const props = propsProbe.value;
    seen.push(`GET /props → ${props.statusCode}`);
    if (props.statusCode === 200 && /"total_slots"/.test(props.text)) return 'llama-server';
    // llama-server answers /props 503 "Loading model" until its model is loaded (its /v1/models may already answer 200).
    if (props.statusCode === 503 && /loading model/i.test(props.text)) return 'llama-server';
    const models = await probe('/v1/models');
    if (models.statusCode === 200) return 'openai';
    const root = await probe('/');
    if (root.statusCode === 200 && root.text.includes('Ollama is running')) return 'ollama';
    if (models.statusCode === 401 || models.statusCode === 403) {
      throw new BackendError('AUTH_FAILED', url, `${url} refused the API key (GET /v1/models → ${models.statusCode}): check the variable named by --api-key-env, or pass --server-type to skip detection`, {
        statusCode: models.statusCode,
      });
    }
    throw new BackendError('SERVER_UNRECOGNISED', url, `${url} does not look like llama-server, Ollama or an OpenAI-compatible server (saw ${seen.join(', ')}): check --server, or pass --server-type openai|llama-server|ollama`, {
      statusCode: models.statusCode,
    });
  } finally {
    await http.close();
  }
}

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

/** vLLM's message: "The model `x` does not exist." */
const vllmMessage = /^The model `.*` does not exist\.?$/s;
/** Ollama's string error: "model 'x' not found" or "model \"x\" not found, try pulling it first". */
const ollamaMessage = /^model (['"]).*\1 not found(, try pulling it first)?$/s;
/** llama-server's router mode (router_validate_model): "model 'x' not found", an invalid_request_error. */
const llamaRouterMessage = /^model '.*' not found$/s;

/**
 * Whether an error body is a server's own "this model is not served" answer, in one of the shapes
 * the servers send (status 404, or 400 for llama-server's router):
 * - OpenAI: `{"error":{"code":"model_not_found",…}}`
 * - vLLM: `{"object":"error","type":"NotFoundError","message":"The model \`x\` does not exist.",…}`,
 *   or the same fields under `error`
 * - Ollama: `{"error":"model 'x' not found"}`, `{"error":"model \"x\" not found, try pulling it first"}`
 * - llama-server router: `{"error":{"code":400,"type":"invalid_request_error","message":"model 'x' not found"}}`
 * Anything else (an HTML 404 page, "path /v1/foo not found", a message that merely mentions a
 * model) is not: matching on the word "model" sent wrong-path errors to the wrong fix.
 */
export function isModelNotFound(bodyText: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return false;
  }
  const body = asObject(parsed);
  if (body === undefined) return false;
  if (typeof body.error === 'string') return ollamaMessage.test(body.error);
  const inner = asObject(body.error) ?? (body.object === 'error' ? body : undefined);
  if (inner === undefined) return false;
  const message = typeof inner.message === 'string' ? inner.message : '';
  if (inner.code === 'model_not_found') return true;
  if (inner.type === 'NotFoundError') return vllmMessage.test(message);
  if (inner.type === 'invalid_request_error') return llamaRouterMessage.test(message);
  return false;
}

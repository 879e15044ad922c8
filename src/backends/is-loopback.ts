/**
 * Whether `host` is this machine's loopback interface: `localhost`, any `127.x.x.x`, or `::1`
 * (with or without the brackets a URL puts around it). Case does not matter.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/**
 * Whether `url` points at this machine's loopback interface (see `isLoopbackHost`). False, never
 * an exception, for text that is not a URL: the callers only decide whether a key is worth
 * sending, and the request itself reports the bad URL.
 */
export function isLoopback(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return isLoopbackHost(host);
}

// The two files of undici that http-endpoint.ts imports instead of its main entry, typed as the
// main entry types them.
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Pool } from 'undici';
  export default function request(this: Pool, options: Parameters<Pool['request']>[0]): ReturnType<Pool['request']>;
}

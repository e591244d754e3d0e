import http from 'node:http';

/** One request of a load test: when it was sent and ended, how, and the version that answered. */
export interface Sample {
  started: number;
  ended: number;
  status?: number;
  error?: string;
  version?: string;
}

/** GETs `url` through `agent` (keep-alive), or on a fresh connection closed after the answer. */
export function get(url: string, agent: http.Agent | false): Promise<Sample> {
  const started = performance.now();
  return new Promise((resolve) => {
    const end = (outcome: Omit<Sample, 'started' | 'ended'>) =>
      resolve({ started, ended: performance.now(), ...outcome });
    const req = http.get(
      url,
      { agent, headers: agent === false ? { connection: 'close' } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          let version: string | undefined;
          try {
            version = (JSON.parse(body) as { version?: string }).version;
          } catch {}
          end({ status: res.statusCode, version });
        });
        res.on('error', (error) => end({ error: error.message }));
      },
    );
    req.on('error', (error) => end({ error: error.message }));
  });
}

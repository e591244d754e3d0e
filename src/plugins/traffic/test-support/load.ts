import http from 'node:http';

/** One request of a load test: how it ended, and the version that answered it. */
export interface Sample {
  status?: number;
  error?: string;
  version?: string;
}

/** GETs `url` through `agent` (keep-alive), or on a fresh connection closed after the answer. */
export function get(url: string, agent: http.Agent | false): Promise<Sample> {
  return new Promise((resolve) => {
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
          resolve({ status: res.statusCode, version });
        });
        res.on('error', (error) => resolve({ error: error.message }));
      },
    );
    req.on('error', (error) => resolve({ error: error.message }));
  });
}

import { fetch as fetchWith, type Agent, type Response as UndiciResponse } from 'undici';
import type { LoggingApp } from './apps.js';

/** An open SSE connection whose events are parsed as they arrive (complete events only). */
export interface Stream {
  response: UndiciResponse;
  /** The `data:` payloads of plain (message) events, parsed. */
  events: Record<string, unknown>[];
  /** Events sent with an `event:` name, such as `session-ended`, with their data parsed. */
  named: { event: string; data: Record<string, unknown> }[];
  text: () => string;
  ended: () => boolean;
  close: () => void;
}

/**
 * Opens `GET /api/logs/stream` on its own connection pool (`agent`): after an aborted stream the
 * shared pool keeps a spare connection open, which would hold up the app's graceful stop.
 */
export async function openStream(
  target: LoggingApp,
  agent: Agent,
  query = '',
  headers: Record<string, string> = {},
): Promise<Stream> {
  const abort = new AbortController();
  const response = await fetchWith(`${target.url}/api/logs/stream${query}`, {
    signal: abort.signal,
    dispatcher: agent,
    headers,
  });
  const events: Stream['events'] = [];
  const named: Stream['named'] = [];
  let raw = '';
  let ended = false;
  if (response.status === 200) {
    void (async () => {
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      try {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
          raw += decoder.decode(chunk.value, { stream: true });
          const parsed = parseEvents(raw);
          events.splice(
            0,
            events.length,
            ...parsed.filter((each) => each.event === 'message').map((each) => each.data),
          );
          named.splice(0, named.length, ...parsed.filter((each) => each.event !== 'message'));
        }
      } catch {
        // aborted by the test
      }
      ended = true;
    })();
  }
  return {
    response,
    events,
    named,
    text: () => raw,
    ended: () => ended,
    close: () => abort.abort(),
  };
}

function parseEvents(raw: string): { event: string; data: Record<string, unknown> }[] {
  return raw
    .split('\n\n')
    .slice(0, -1)
    .flatMap((block) => {
      const lines = block.split('\n');
      const data = lines.find((line) => line.startsWith('data: '));
      if (!data) return [];
      const event = lines.find((line) => line.startsWith('event: '))?.slice(7) ?? 'message';
      return [{ event, data: JSON.parse(data.slice(6)) as Record<string, unknown> }];
    });
}

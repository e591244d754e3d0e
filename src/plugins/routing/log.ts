/** What the routing plugin adds to a request's log line (the core writes the line). */
export type RequestLogExtras = {
  route?: string;
  upstream?: string;
  upstreamError?: string;
};

import type { HttpExchange, HttpRequest } from "../core/platform.ts";

/** The standard `fetch` as the runtimes have it (browsers, Deno, Node 20). */
export type FetchFn = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal }) => Promise<{
  status: number;
  text(): Promise<string>;
  body: { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> } } | null;
}>;

/** One `fetch` as a cancellable exchange whose body can be read as a stream of text chunks. */
export function fetchExchange(fetchFn: FetchFn, req: HttpRequest): HttpExchange {
  const abort = new AbortController();
  const response = fetchFn(req.url, { method: req.method, headers: req.headers, ...(req.body === undefined ? {} : { body: req.body }), signal: abort.signal }).then((res) => ({
    status: res.status,
    text: () => res.text(),
    async *chunks(): AsyncIterable<string> {
      const reader = res.body?.getReader();
      if (!reader) return;
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield decoder.decode(value, { stream: true });
        }
      } finally {
        void reader.cancel().catch(() => {});
      }
    },
  }));
  return { response, abort: () => abort.abort() };
}

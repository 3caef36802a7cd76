// The request target of an HTTP request as a URL, or null when it is not one. Node's HTTP parser
// accepts request targets that the WHATWG URL parser rejects (`GET //[ HTTP/1.1`), and `new URL`
// throws on them: unguarded, one unauthenticated request took the whole gateway down. Decides
// nothing about the request; callers answer 400.
export function requestUrl(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'https://gateway');
  } catch {
    return null;
  }
}

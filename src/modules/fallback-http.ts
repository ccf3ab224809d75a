import type { CloseInfo, WebSocketLike } from 'resilient-ws';

/** The `fetch` the HTTP transport uses (the global one, or one a test or another runtime gives). */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** Bytes (as UTF-16 length, the client's measure) a POST carries at most; more waits for the next one. */
const BATCH = 1 << 18;
/** An idle session still POSTs this often (an empty body), so the server can tell a live client from a gone one. */
const KEEPALIVE = 25_000;
/** A POST that failed on the network or was told to wait (429, 5xx) is tried again after this, this many times. */
const RETRY = 500;
const TRIES = 4;
/** A close not confirmed within this, ms, ends the session anyway. */
const CLOSING = 3000;

/**
 * One HTTP session with the shape of a WebSocket (the wire contract is in docs/fallback.md):
 * `POST url` opens it and its response is the server → client stream (Server-Sent Events: an
 * `open` event with the session id, then one `data:` event per frame, and a `close` event);
 * client → server frames go by `POST url?sid=…&seq=…`, one POST in flight at a time, the
 * frames written meanwhile batched into the next, one per line. `seq` numbers the first frame
 * of a batch, so a POST tried again after its answer was lost is applied once.
 *
 * `bufferedAmount` counts the frames not yet confirmed by a POST's answer, in the client's
 * measure (UTF-16 length): when the session dies, the client sends them again on its next
 * connection, as it does with what a WebSocket still held.
 */
export class HttpSocket implements WebSocketLike {
  readyState = 0;
  bufferedAmount = 0;
  binaryType = 'blob';
  protocol = '';
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;

  /** frames not yet handed to a POST */
  private _out: string[] = [];
  /** the POST in flight: its frames and seq */
  private _busy?: string[];
  /** seq of the first frame of `out` (of `busy` while one is in flight) */
  private _seq = 0;
  private _sid = '';
  private _abort = new AbortController();
  private _shut?: [number, string];
  private _timer?: ReturnType<typeof setTimeout>;
  private _guard?: ReturnType<typeof setTimeout>;
  private _url: string;
  private _fetcher: Fetch;

  /**
   * @param url - the session endpoint, e.g. `https://example.com/rt`
   * @param query - the WebSocket url's query (`?token=…`), carried over to the request that opens the session
   * @param fetcher - `fetch`
   */
  constructor(url: string, query: string, fetcher: Fetch) {
    this._url = url;
    this._fetcher = fetcher;
    this._read(query ? this._at(query.slice(1)) : url);
  }

  /** Queue a text frame; it goes in the next POST. */
  send(data: unknown): void {
    if (this.readyState !== 1) {
      if (this.readyState) return; // a closing WebSocket discards too
      throw new Error(__DEV__ ? 'InvalidStateError: still connecting' : 'InvalidStateError');
    }
    if (typeof data !== 'string')
      throw new TypeError(__DEV__ ? 'the HTTP transport carries text frames only' : 'text only');
    // line breaks separate frames in a POST; in JSON they are only ever whitespace
    this._out.push(data.replace(/[\r\n]/g, ' '));
    this.bufferedAmount += data.length;
    this._pump();
  }

  /** Send what is written, then end the session with `code` (1000 or 3000–4999) and `reason`. */
  close(code = 1000, reason = ''): void {
    if (code !== 1000 && !(code >= 3000 && code <= 4999))
      throw new RangeError(__DEV__ ? `invalid close code ${code}` : `${code}`);
    if (new Blob([reason]).size > 123) throw new SyntaxError(__DEV__ ? 'close reason longer than 123 bytes' : reason);
    if (this.readyState > 1) return;
    if (!this.readyState) return this._end(1006, '', false);
    this.readyState = 2;
    this._shut = [code, reason];
    this._pump();
    // a server that no longer answers does not hold the close (nor the fetches) for long
    this._guard = setTimeout(() => this._end(1006, '', false), CLOSING);
  }

  private _at(q: string): string {
    return this._url + (this._url.includes('?') ? '&' : '?') + q;
  }

  /** The stream: open, then Server-Sent Events until the server closes or the connection dies. */
  private async _read(url: string): Promise<void> {
    let code = 1006;
    let reason = '';
    let clean = false;
    try {
      const res = await this._fetcher(url, {
        method: 'POST',
        body: '',
        cache: 'no-store',
        signal: this._abort.signal,
        headers: { accept: 'text/event-stream' },
      });
      if (!res.ok) throw 0; // refused (403, 503, …): the close below, 1006
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      let event = '';
      let data: string[] = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const lines = (buf + value).split(/\r\n|\r|\n/);
        buf = lines.pop()!;
        for (const line of lines) {
          if (line) {
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const v = i < 0 ? '' : line.slice(i + (line[i + 1] === ' ' ? 2 : 1));
            if (field === 'event') event = v;
            else if (field === 'data') data.push(v);
            continue;
          }
          // a blank line ends an event
          const text = data.join('\n');
          const kind = event;
          event = '';
          data = [];
          if (kind === 'open') {
            this._sid = JSON.parse(text).sid;
            this.readyState = 1;
            this.onopen?.({ type: 'open' });
            this._idle();
          } else if (kind === 'close') {
            ({ code, reason } = JSON.parse(text) as CloseInfo);
            clean = true;
          } else if (!kind && this.readyState < 3) this.onmessage?.({ type: 'message', data: text });
        }
      }
    } catch {}
    this._end(code, reason, clean);
  }

  /** One POST at a time: the frames waiting (and the close, when asked and nothing waits). */
  private _pump(): void {
    if (this._busy || this.readyState > 2 || (!this._out.length && !this._shut)) return;
    let n = 0;
    let size = 0;
    while (n < this._out.length && (size += this._out[n]!.length) <= BATCH) n++;
    const batch = (this._busy = this._out.splice(0, n || 1));
    const last = !this._out.length && this._shut;
    this._post(batch, last ? [...last] : undefined, 0);
  }

  private _post(batch: string[], shut: [number, string] | undefined, tries: number): void {
    clearTimeout(this._timer);
    let q = `sid=${this._sid}&seq=${this._seq}`;
    if (shut) q += `&close=${shut[0]}&reason=${encodeURIComponent(shut[1])}`;
    this._fetcher(this._at(q), {
      method: 'POST',
      body: batch.join('\n'),
      cache: 'no-store',
      signal: this._abort.signal,
    }).then(
      (r) => {
        if (r.ok) return this._done(batch, shut);
        // told to wait: again, later; refused: the session is over
        if (r.status === 429 || r.status >= 500) return this._again(batch, shut, tries);
        this._end(r.status === 413 ? 1009 : 1006, '', false);
      },
      () => this._again(batch, shut, tries),
    );
  }

  private _again(batch: string[], shut: [number, string] | undefined, tries: number): void {
    if (this.readyState > 2) return;
    if (tries + 1 >= TRIES) return this._end(1006, '', false);
    this._timer = setTimeout(() => this._post(batch, shut, tries + 1), RETRY * (tries + 1));
  }

  /** A POST was answered: its frames are the server's. */
  private _done(batch: string[], shut: [number, string] | undefined): void {
    this._seq += batch.length;
    for (const f of batch) this.bufferedAmount -= f.length;
    this._busy = undefined;
    // closing: the server ends the stream after what it still had to say, with `event: close`
    if (shut) return;
    this._pump();
    this._idle();
  }

  /** Nothing sent for a while: an empty POST tells the server this client is still there. */
  private _idle(): void {
    clearTimeout(this._timer);
    if (!this._busy) this._timer = setTimeout(() => this._post((this._busy = []), undefined, 0), KEEPALIVE);
  }

  /** The one end: stop the stream and timers, report the close once. */
  private _end(code: number, reason: string, wasClean: boolean): void {
    if (this.readyState > 2) return;
    this.readyState = 3;
    clearTimeout(this._timer);
    clearTimeout(this._guard);
    this._abort.abort();
    if (!wasClean) this.onerror?.({ type: 'error' });
    this.onclose?.({ type: 'close', code, reason, wasClean });
  }
}

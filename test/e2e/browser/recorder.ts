/**
 * Records what Chromium itself saw on the wire for one page, so the test can judge CORS from the
 * browser's point of view:
 *
 * - every request to a watched origin, merged from the DevTools protocol's Network events (method,
 *   URL, resource type — `Preflight` for CORS preflights —, the raw request headers including
 *   `Origin`, the raw response status and headers, and any loading failure with its CORS error);
 * - the page's console errors, uncaught page errors and Playwright's `requestfailed` events.
 *
 * Header names are lower-cased.
 */
import type { CDPSession, Page } from "playwright-core";

export interface Exchange {
  id: string;
  method: string;
  url: string;
  /** DevTools resource type: "Fetch" for fetch(), "Preflight" for an OPTIONS preflight. */
  type?: string;
  requestHeaders: Record<string, string>;
  status?: number;
  responseHeaders: Record<string, string>;
  /** Set when loading failed: net error text, CORS error (e.g. "MissingAllowOriginHeader") or blocked reason. */
  failure?: string;
}

export interface ConsoleError {
  text: string;
  url: string;
}

export interface Observations {
  exchanges: Exchange[];
  consoleErrors: ConsoleError[];
  pageErrors: string[];
  requestFailures: string[];
}

const lower = (headers: Record<string, unknown> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));

export class NetworkRecorder {
  private exchanges = new Map<string, Exchange>();
  private consoleErrors: ConsoleError[] = [];
  private pageErrors: string[] = [];
  private requestFailures: string[] = [];

  private constructor(private readonly watched: (url: string) => boolean) {}

  /** Starts recording `page`'s requests to URLs for which `watched(url)` is true. */
  static async attach(page: Page, cdp: CDPSession, watched: (url: string) => boolean): Promise<NetworkRecorder> {
    const r = new NetworkRecorder(watched);
    const get = (id: string): Exchange => {
      let ex = r.exchanges.get(id);
      if (!ex) {
        ex = { id, method: "", url: "", requestHeaders: {}, responseHeaders: {} };
        r.exchanges.set(id, ex);
      }
      return ex;
    };
    cdp.on("Network.requestWillBeSent", (e) => {
      if (!watched(e.request.url)) return;
      const ex = get(e.requestId);
      ex.method = e.request.method;
      ex.url = e.request.url;
      ex.type = e.type ?? ex.type;
      ex.requestHeaders = { ...lower(e.request.headers), ...ex.requestHeaders };
    });
    // Raw headers as sent (these include Origin, Host, Sec-Fetch-*); may arrive before requestWillBeSent.
    cdp.on("Network.requestWillBeSentExtraInfo", (e) => {
      const ex = get(e.requestId);
      ex.requestHeaders = { ...ex.requestHeaders, ...lower(e.headers) };
    });
    cdp.on("Network.responseReceived", (e) => {
      if (!watched(e.response.url)) return;
      const ex = get(e.requestId);
      ex.url ||= e.response.url;
      ex.type = e.type;
      ex.status = e.response.status;
      ex.responseHeaders = { ...lower(e.response.headers), ...ex.responseHeaders };
    });
    cdp.on("Network.responseReceivedExtraInfo", (e) => {
      const ex = get(e.requestId);
      ex.status ??= e.statusCode;
      ex.responseHeaders = { ...ex.responseHeaders, ...lower(e.headers) };
    });
    cdp.on("Network.loadingFailed", (e) => {
      const ex = r.exchanges.get(e.requestId);
      if (!ex) return;
      const cors = e.corsErrorStatus
        ? ` CORS ${e.corsErrorStatus.corsError}${e.corsErrorStatus.failedParameter ? ` (${e.corsErrorStatus.failedParameter})` : ""}`
        : "";
      ex.failure = `${e.errorText}${cors}${e.blockedReason ? ` blocked: ${e.blockedReason}` : ""}`;
      ex.type ??= e.type;
    });
    await cdp.send("Network.enable");

    page.on("console", (m) => {
      if (m.type() === "error") r.consoleErrors.push({ text: m.text(), url: m.location().url });
    });
    page.on("pageerror", (err) => r.pageErrors.push(err.stack ?? err.message));
    page.on("requestfailed", (req) => {
      r.requestFailures.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText ?? "failed"}`);
    });
    return r;
  }

  reset(): void {
    this.exchanges.clear();
    this.consoleErrors = [];
    this.pageErrors = [];
    this.requestFailures = [];
  }

  /** Only the requests whose URL is watched (extra-info events for other requests are dropped here). */
  private watchedExchanges(): Exchange[] {
    return [...this.exchanges.values()].filter((ex) => ex.url !== "" && this.watched(ex.url));
  }

  /**
   * Waits (at most `ms`) until every watched request has a response or a failure: DevTools events
   * travel on their own session and may trail the page's promise by a moment.
   */
  async settle(ms = 5_000): Promise<Observations> {
    const deadline = Date.now() + ms;
    for (;;) {
      const pending = this.watchedExchanges().filter((ex) => ex.status === undefined && ex.failure === undefined);
      if (pending.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `Timed out after ${ms} ms waiting for the browser to finish: ${pending.map((p) => `${p.method} ${p.url}`).join(", ")}`,
        );
      }
      await new Promise((res) => setTimeout(res, 25));
    }
    await new Promise((res) => setTimeout(res, 50)); // let trailing console / requestfailed events land
    return {
      exchanges: this.watchedExchanges(),
      consoleErrors: [...this.consoleErrors],
      pageErrors: [...this.pageErrors],
      requestFailures: [...this.requestFailures],
    };
  }
}

/** The answer of a service call as the flow sees it: never an exception. */
export interface HttpResult {
  readonly ok: boolean;
  readonly status: number;
  readonly body: unknown;
}

export interface HttpServicesPort {
  request(service: string, path: string, timeoutMs: number): Promise<HttpResult>;
}

/**
 * Calls the services named in configuration (HTTP_SERVICES). A flow supplies only the
 * service name and a path; the base URL is ours, so caller input cannot point a request
 * anywhere else. Timeouts, network errors, non-2xx and non-JSON answers all come back as
 * `ok: false`, which sends the flow down its error branch.
 */
export class HttpServices implements HttpServicesPort {
  private readonly services: Readonly<Record<string, string>>;

  constructor(services: Readonly<Record<string, string>>) {
    this.services = services;
  }

  names(): string[] {
    return Object.keys(this.services);
  }

  async request(service: string, path: string, timeoutMs: number): Promise<HttpResult> {
    const base = this.services[service];
    if (!base) return { ok: false, status: 0, body: { error: `unknown service ${service}` } };
    try {
      const res = await fetch(base + path, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        return { ok: false, status: res.status, body: null };
      }
      return { ok: res.ok, status: res.status, body };
    } catch (err) {
      return { ok: false, status: 0, body: { error: (err as Error).name } };
    }
  }
}

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The answer of a GET on the task values REST API. */
export interface IAPIResponse<T> {
  /** 200, or 304 when the ETag sent in `If-None-Match` is still current (then `data` is null). */
  status: number;
  data: T | null;
  etag: string | null;
}

/** An error answered by the REST API; `message` is the server's sentence. */
export class APIError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The validator's messages when a job file does not validate (400 on POST runs). */
    readonly problems: string[] = []
  ) {
    super(message);
    this.name = 'APIError';
  }
}

/**
 * Build an endpoint from path parts, each percent-encoded (`endpoint('runs', id, 'tasks', key)`).
 */
export function endpoint(...parts: string[]): string {
  return parts.map(part => encodeURIComponent(part)).join('/');
}

/**
 * GET `{base_url}taskvalues/api/{endPoint}` with Jupyter's credentials.
 *
 * @param endPoint - the path under the API, already encoded (see `endpoint`)
 * @param etag - a previous ETag: the server answers 304 (no body) while the resource is unchanged
 */
export async function requestAPI<T>(
  endPoint: string,
  etag: string | null = null
): Promise<IAPIResponse<T>> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'taskvalues', 'api', endPoint);
  const headers: Record<string, string> = {};
  if (etag) {
    headers['If-None-Match'] = etag;
  }
  let response: Response;
  try {
    // no-store: the browser cache must neither answer for us nor turn our 304 into a 200.
    response = await ServerConnection.makeRequest(
      url,
      { method: 'GET', headers, cache: 'no-store' },
      settings
    );
  } catch (error) {
    throw new APIError(0, `Cannot reach the Jupyter server: ${String(error)}`);
  }
  const newEtag = response.headers.get('Etag');
  if (response.status === 304) {
    return { status: 304, data: null, etag: etag };
  }
  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new APIError(
        response.status,
        `The server answered ${response.status} with a body that is not JSON.`
      );
    }
  }
  if (!response.ok) {
    const message =
      data && typeof data === 'object' && 'message' in data
        ? String((data as { message: unknown }).message)
        : `The server answered ${response.status} ${response.statusText}.`;
    throw new APIError(response.status, message);
  }
  return { status: response.status, data: data as T, etag: newEtag };
}

/**
 * POST or DELETE `{base_url}taskvalues/api/{endPoint}` with Jupyter's credentials and XSRF cookie.
 *
 * @param method - `POST` or `DELETE`
 * @param endPoint - the path under the API, already encoded (see `endpoint`)
 * @param body - the JSON body, if any
 * @returns the JSON answer
 * @throws APIError with the server's message and, for a job that does not validate, its problems
 */
export async function sendAPI<T>(
  method: 'POST' | 'DELETE',
  endPoint: string,
  body?: unknown
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'taskvalues', 'api', endPoint);
  const init: RequestInit = { method, cache: 'no-store' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new APIError(0, `Cannot reach the Jupyter server: ${String(error)}`);
  }
  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new APIError(
        response.status,
        `The server answered ${response.status} with a body that is not JSON.`
      );
    }
  }
  if (!response.ok) {
    const record = data && typeof data === 'object' ? (data as Record<string, unknown>) : {};
    const message =
      'message' in record
        ? String(record.message)
        : `The server answered ${response.status} ${response.statusText}.`;
    const problems = Array.isArray(record.problems) ? record.problems.map(p => String(p)) : [];
    throw new APIError(response.status, message, problems);
  }
  return data as T;
}

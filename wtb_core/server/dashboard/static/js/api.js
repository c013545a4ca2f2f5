// The dashboard's only way to the server: the public REST API and the event stream.

const TOKEN_KEY = "wtb-token";

export class ApiError extends Error {
  constructor(status, type, message) {
    super(`${type}: ${message}`);
    this.status = status;
    this.type = type;
    this.detail = message;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, item);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

// GET (or another method with a JSON body); resolves to the parsed answer, rejects with an
// ApiError carrying the server's {error: {type, message}}.
export async function api(path, { method = "GET", params, body } = {}) {
  const headers = { Accept: "application/json" };
  const tok = token();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path + query(params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, "NetworkError", `the server did not answer (${err.message})`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const detail = Array.isArray(data && data.detail) ? data.detail.map((d) => d.msg).join("; ") : null;
    throw new ApiError(
      response.status,
      error.type || `HTTP ${response.status}`,
      error.message || detail || text || response.statusText,
    );
  }
  return data;
}

export const v1 = (path) => `/api/v1${path}`;

// One WebSocket for the page: subscriptions by topic, each with its handler. The socket
// reconnects with since=<last seq> so no event is missed while it was away.
class LiveStream {
  constructor() {
    this.handlers = new Map(); // id -> {topics, fn}
    this.nextId = 1;
    this.seq = null;
    this.socket = null;
    this.retry = null;
    this.onstate = () => {};
  }

  topics() {
    const all = new Set();
    for (const { topics } of this.handlers.values()) topics.forEach((t) => all.add(t));
    return [...all];
  }

  subscribe(topics, fn) {
    const id = this.nextId++;
    this.handlers.set(id, { topics, fn });
    this.connect();
    this.send({ subscribe: topics });
    return () => {
      this.handlers.delete(id);
      const still = new Set(this.topics());
      const gone = topics.filter((t) => !still.has(t));
      if (gone.length) this.send({ unsubscribe: gone });
    };
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  connect() {
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const tok = token();
    const url = `${scheme}://${location.host}/api/v1/stream${tok ? `?token=${encodeURIComponent(tok)}` : ""}`;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      this.onstate("live");
      const topics = this.topics();
      if (topics.length) {
        const message = { subscribe: topics };
        if (this.seq !== null) message.since = this.seq;
        socket.send(JSON.stringify(message));
      }
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "lagged") {
        this.send({ subscribe: this.topics(), since: event.seq });
        return;
      }
      if (event.type === "subscribed") {
        if (this.seq === null) this.seq = event.seq;
        return;
      }
      if (typeof event.seq !== "number") return;
      this.seq = Math.max(this.seq || 0, event.seq);
      for (const { topics, fn } of this.handlers.values()) {
        if (matches(topics, event)) fn(event);
      }
    };
    socket.onclose = () => {
      this.onstate("offline");
      if (this.handlers.size && !this.retry) {
        this.retry = setTimeout(() => {
          this.retry = null;
          this.connect();
        }, 1000);
      }
    };
  }
}

function matches(topics, event) {
  return topics.some(
    (t) =>
      t === "*" ||
      t === `execution:${event.execution_id}` ||
      (event.batch_id && t === `batch:${event.batch_id}`) ||
      (event.project && t === `project:${event.project}`),
  );
}

export const live = new LiveStream();

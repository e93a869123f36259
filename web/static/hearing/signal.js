// The socket.io connection of one participant (docs/signaling.md is the contract).
// It reconnects by itself after a network drop with the same join token (the server puts
// the person back where they were) and stops for good after `goodbye` or a refusal.
/* global io */
import { t } from "./i18n.js";

const REQUEST_TIMEOUT_MS = 8000;
const RECONNECT_AFTER_MS = 1500;
const FORWARDED = ["welcome", "session_event", "chat", "offer", "quality", "active_speaker", "alert"];

export class Signal extends EventTarget {
  #token;
  #sequence = 0;
  #quiet = new Set();
  #waiting = [];
  /** The live socket.io client; replaced as a whole by `restart()`. */
  socket = null;
  /** The welcome of the current connection (null while disconnected). */
  welcome = null;
  /** Set once the server said goodbye or refused the link: never reconnect after it. */
  closed = false;

  constructor(token) {
    super();
    this.#token = token;
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected && this.welcome);
  }

  /** Connect (once) and resolve with the welcome; rejects with the server's refusal. */
  connect() {
    if (!this.socket) this.socket = this.#open();
    return this.welcomed();
  }

  welcomed() {
    if (this.connected) return Promise.resolve(this.welcome);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /**
   * Open a fresh connection that replaces this one on the server. The server moves the
   * person over without recording a disconnect (nothing is suspended) and drops the old
   * connection's media, so a broken media link is rebuilt from scratch.
   */
  restart() {
    const old = this.socket;
    this.welcome = null;
    this.socket = this.#open();
    if (old) setTimeout(() => old.disconnect(), REQUEST_TIMEOUT_MS);
  }

  /** Close for good (the page is leaving). */
  close() {
    this.closed = true;
    if (this.socket) this.socket.disconnect();
  }

  /**
   * Send one event and wait for its acknowledgement: `{ok: true, ...}` or
   * `{ok: false, error}`. Refusals also arrive as `error` events, which the page shows;
   * `quiet` keeps this request's refusal out of sight (e.g. a best-effort report).
   */
  async request(event, payload = {}, { quiet = false } = {}) {
    const ref = `r${++this.#sequence}`;
    const socket = this.socket;
    if (!socket || !socket.connected) {
      return this.#localFailure(ref, event, "offline", t("You are not connected; the action was not sent."), quiet);
    }
    if (quiet) this.#quiet.add(ref);
    try {
      return await socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck(event, { ...payload, ref });
    } catch {
      return this.#localFailure(ref, event, "timeout", t("The server did not answer in time. Check your connection."), quiet);
    } finally {
      setTimeout(() => this.#quiet.delete(ref), REQUEST_TIMEOUT_MS);
    }
  }

  #localFailure(ref, event, code, message, quiet) {
    const error = { code, rule: `client.${code}`, message, event, ref };
    if (!quiet) this.#fire("error", error);
    return { ok: false, ref, error };
  }

  #open() {
    const socket = io({
      auth: { token: this.#token },
      transports: ["websocket"],
      forceNew: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      timeout: 10000,
    });
    const current = () => socket === this.socket;
    for (const name of FORWARDED) {
      socket.on(name, (body) => {
        if (!current()) return;
        if (name === "welcome") this.#welcomed(body);
        this.#fire(name, body);
      });
    }
    socket.on("error", (body) => {
      if (current() && !(body && this.#quiet.has(body.ref))) this.#fire("error", body);
    });
    socket.on("goodbye", (body) => {
      if (!current()) return;
      if (body && body.reason === "server.shutdown") return; // reconnect once it is back
      this.closed = true;
      this.#fire("goodbye", body || {});
    });
    socket.on("connect", () => {
      if (current()) this.#fire("connected", {});
    });
    socket.on("disconnect", (reason) => {
      if (!current()) return;
      this.welcome = null;
      if (this.closed) return;
      this.#fire("connection-lost", { reason });
      // socket.io retries by itself after a network drop, not after the server closed us.
      if (reason === "io server disconnect") setTimeout(() => this.#retry(socket), RECONNECT_AFTER_MS);
    });
    socket.on("connect_error", (error) => {
      if (!current()) return;
      const refusal = error && error.data;
      if (refusal && refusal.code) {
        if (refusal.code === "unavailable") {
          this.#fire("connection-lost", { reason: refusal.rule });
          setTimeout(() => this.#retry(socket), RECONNECT_AFTER_MS * 2);
          return;
        }
        this.closed = true;
        socket.disconnect();
        for (const waiter of this.#waiting.splice(0)) waiter.reject(refusal);
        this.#fire("refused", refusal);
        return;
      }
      this.#fire("connection-lost", { reason: error ? error.message : "" });
    });
    return socket;
  }

  #retry(socket) {
    if (!this.closed && socket === this.socket && !socket.connected) socket.connect();
  }

  #welcomed(body) {
    this.welcome = body;
    for (const waiter of this.#waiting.splice(0)) waiter.resolve(body);
  }

  #fire(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}

// Back-off for rebuilding a media link that failed: the first retry comes quickly, later
// ones further apart (1, 2, 4, 8, then every 15 s), and a link that connects starts the
// count again. The page tells the person which attempt it is on and, after several, what
// they can do themselves.

export const RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 15000];
/** From this attempt on the person is asked to check their network or reload the page. */
export const ADVISE_AFTER_ATTEMPTS = 3;

export class Backoff {
  #delays;
  /** Failures since the last success: the number of the retry now coming. */
  attempts = 0;

  constructor(delays = RETRY_DELAYS_MS) {
    this.#delays = delays;
  }

  /** Count one failure; returns how long to wait before the next attempt. */
  fail() {
    const delay = this.#delays[Math.min(this.attempts, this.#delays.length - 1)];
    this.attempts += 1;
    return delay;
  }

  /** The link connected: the next failure waits the shortest time again. */
  succeed() {
    this.attempts = 0;
  }
}

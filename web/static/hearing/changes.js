// A session's view as the server's `session_event` changes make it (docs/signaling.md, Views):
// the whole view comes once (welcome, watch or view reply), then only what changed.

/** The view after one message's `changes`: session fields, participant entries (null: gone), you. */
export function applyChanges(view, changes) {
  const updated = { ...view };
  if (changes.session) updated.session = { ...(view.session || {}), ...changes.session };
  if (changes.you) updated.you = changes.you;
  if (changes.participants) {
    const people = new Map((view.participants || []).map((person) => [person.id, person]));
    for (const [id, entry] of Object.entries(changes.participants)) {
      if (entry === null) people.delete(id);
      else people.set(id, entry);
    }
    updated.participants = [...people.values()];
  }
  return updated;
}

/**
 * One session's view kept current. A message whose `since` is not the version held means one
 * was lost: the whole view is asked for again (`fetchWhole`, resolving with the `view` reply)
 * and changes are dropped until it arrives; `resynced` is called once it is held.
 */
export class FollowedView {
  view = null;
  version = null;
  #resyncing = false;
  #fetchWhole;
  #resynced;

  constructor(fetchWhole, resynced) {
    this.#fetchWhole = fetchWhole;
    this.#resynced = resynced;
  }

  hold(view, version) {
    this.view = view;
    this.version = version;
  }

  /** Take one `session_event` (a whole `view`, or `changes`); false when it could not be
   * applied (a re-sync is under way). */
  follow(message) {
    if (message.view) {
      this.hold(message.view, message.version);
      return true;
    }
    if (this.#resyncing) return false;
    if (message.since === this.version) {
      this.hold(applyChanges(this.view || {}, message.changes || {}), message.version);
      return true;
    }
    this.#resyncing = true;
    this.#fetchWhole()
      .then((reply) => {
        if (reply && reply.ok) {
          this.hold(reply.view, reply.version);
          this.#resynced();
        }
      })
      .finally(() => {
        this.#resyncing = false;
      });
    return false;
  }
}

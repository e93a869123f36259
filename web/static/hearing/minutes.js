// The minutes panel for the clerk and the presiding judge: the draft's entries in order, a
// text field per speaking turn saved as it is typed (each save carries the version it was
// typed over, so a newer text from the other editor is shown as a conflict, never lost),
// and quick insertion of a question, answer or statement by a chosen speaker.
import { clockTime, localized, t } from "./i18n.js";

const SPOKEN = new Set(["floor", "question", "answer", "statement"]);
const SAVE_AFTER_MS = 600;

export class MinutesPanel {
  #config;
  #root;
  #url;
  #timers = new Map();
  #versions = new Map();
  #refreshing = null;
  #again = false;

  constructor(config, root) {
    this.#config = config;
    this.#root = root;
    this.#url = `/api/v1/sessions/${config.session_id}/minutes`;
    root.querySelector("#minutes-insert").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#insert();
    });
    root.querySelector("#minutes-section").addEventListener("change", (event) => {
      this.#moveTo(event.target.value);
    });
  }

  async #call(method, path, body) {
    const response = await fetch(this.#url + path, {
      method,
      headers: { Authorization: `Bearer ${this.#config.token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json();
    return { ok: response.ok, status: response.status, data };
  }

  /** Fetch the draft again (after each change the hearing reports), at most one at a time;
   * a change reported while one is on its way is fetched again after it (the answer on its
   * way may predate that change). */
  refresh() {
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#again = false;
    this.#refreshing = this.#call("GET", "").then((reply) => {
      this.#refreshing = null;
      if (reply.ok) this.#show(reply.data);
      if (this.#again) return this.refresh();
      return undefined;
    });
    return this.#refreshing;
  }

  speakers(view) {
    const select = this.#root.querySelector("#minutes-speaker");
    const chosen = select.value;
    select.replaceChildren(...view.participants.map((person) => {
      const option = document.createElement("option");
      option.value = person.id;
      option.textContent = person.name;
      return option;
    }));
    if (chosen) select.value = chosen;
  }

  #showSections(minutes) {
    const select = this.#root.querySelector("#minutes-section");
    if (select.options.length === 0) {
      select.replaceChildren(...Object.entries(minutes.sections).map(([value, heading]) => {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = heading;
        return option;
      }));
    }
    select.value = minutes.current_section;
    select.disabled = minutes.signatures.length > 0;
  }

  #show(minutes) {
    this.#showSections(minutes);
    const list = this.#root.querySelector("#minutes-entries");
    let section = null;
    for (const entry of minutes.entries) {
      let item = list.querySelector(`[data-seq="${entry.seq}"]`);
      if (entry.section !== section && !list.querySelector(`[data-heading-for="${entry.seq}"]`)) {
        const heading = document.createElement("li");
        heading.className = "minutes-heading";
        heading.dataset.headingFor = entry.seq;
        heading.textContent = minutes.sections[entry.section] || entry.section;
        if (item) item.before(heading);
        else list.append(heading);
      }
      section = entry.section;
      if (!item) {
        item = document.createElement("li");
        item.dataset.section = entry.section;
        item.dataset.seq = entry.seq;
        const line = document.createElement("p");
        line.textContent = `${clockTime(entry.at, this.#config.time_zone)} ${localized(entry.line)}`;
        item.append(line);
        if (SPOKEN.has(entry.kind)) {
          const field = document.createElement("textarea");
          field.rows = 2;
          field.setAttribute("aria-label", t("What was said: %(line)s", { line: localized(entry.line) }));
          field.value = entry.body;
          field.disabled = minutes.signatures.length > 0;
          field.addEventListener("input", () => this.#typed(entry.seq, field));
          item.append(field);
        }
        list.append(item);
      }
      const field = item.querySelector("textarea");
      const known = this.#versions.get(entry.seq);
      if (field && (known === undefined || entry.version > known) && !this.#timers.has(entry.seq)
          && document.activeElement !== field) {
        field.value = entry.body;
      }
      if (known === undefined || entry.version > known) this.#versions.set(entry.seq, entry.version);
    }
    this.#root.querySelector("#minutes-signed").hidden = !minutes.signed;
  }

  #typed(seq, field) {
    clearTimeout(this.#timers.get(seq));
    this.#say(t("Saving…"));
    this.#timers.set(seq, setTimeout(() => this.#save(seq, field), SAVE_AFTER_MS));
  }

  async #save(seq, field) {
    this.#timers.delete(seq);
    const reply = await this.#call("PUT", `/entries/${seq}`, {
      body: field.value, based_on: this.#versions.get(seq),
    });
    if (reply.ok) {
      this.#versions.set(seq, reply.data.entries[seq - 1].version);
      this.#say(t("Saved."));
      return;
    }
    this.#say(localized(reply.data.error.message));
    if (reply.status === 409) {
      field.closest("li").dataset.conflict = "true";
      this.#versions.delete(seq);
      this.refresh();
    }
  }

  async #moveTo(section) {
    const reply = await this.#call("PUT", "/section", { section });
    if (reply.ok) {
      this.#show(reply.data);
      this.#say(t("New entries now go under: %(section)s", { section: reply.data.sections[section] }));
    } else {
      this.#say(localized(reply.data.error.message));
      this.refresh();
    }
  }

  async #insert() {
    const reply = await this.#call("POST", "/entries", {
      kind: this.#root.querySelector("#minutes-kind").value,
      speaker_id: this.#root.querySelector("#minutes-speaker").value,
      body: "",
    });
    if (reply.ok) this.#show(reply.data);
    else this.#say(localized(reply.data.error.message));
  }

  #say(text) {
    this.#root.querySelector("#minutes-status").textContent = text;
  }
}

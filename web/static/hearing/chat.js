// Chat between a participant and the court (docs/signaling.md, "Chat"): a party writes to
// the court; the court side writes to one person or among itself. Text is only ever put in
// the page as text, never as markup.
import { clockTime, t } from "./i18n.js";
import { displayName, roleLabel } from "./room.js";

export class Chat {
  #config;
  #signal;
  #root;
  #view = null;

  constructor(config, signal, root) {
    this.#config = config;
    this.#signal = signal;
    this.#root = root;
    this.#find("#chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#send();
    });
    this.#find("#chat-text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.#send();
      }
    });
  }

  /** Keep the list of people the court side may write to current. */
  update(view) {
    this.#view = view;
    const inRoom = Boolean(view.you && view.you.state === "in_consultation" && view.you.consultation);
    const choice = this.#find("#chat-room-choice");
    choice.hidden = !inRoom;
    if (!inRoom) this.#find("#chat-room").checked = false;
    const select = this.#find("#chat-to");
    if (!select) return;
    const chosen = select.value;
    const present = (view.participants || []).filter(
      (person) => person.id !== view.you.id && ["in_lobby", "in_session", "in_consultation"].includes(person.state),
    );
    const everyone = select.querySelector('option[value=""]'); // "court staff only", from the page
    select.replaceChildren(
      everyone,
      ...present.map((person) => {
        const option = document.createElement("option");
        option.value = person.id;
        const role = roleLabel(this.#config, person);
        option.textContent = role ? `${displayName(person)} — ${role}` : displayName(person);
        return option;
      }),
    );
    if (present.some((person) => person.id === chosen)) select.value = chosen;
  }

  add(message) {
    const mine = message.from.id === this.#config.participant_id;
    const entry = document.createElement("li");
    entry.className = mine ? "message mine" : "message";
    const head = document.createElement("p");
    head.className = "message-head";
    const from = document.createElement("strong");
    from.textContent = mine ? t("You") : displayName(message.from);
    head.append(from);
    const role = this.#config.role_labels[message.from.role];
    if (role && !mine) head.append(` (${role})`);
    head.append(" ", this.#recipient(message));
    const time = document.createElement("time");
    time.dateTime = message.at;
    time.textContent = clockTime(message.at, this.#config.time_zone);
    head.append(" ", time);
    const text = document.createElement("p");
    text.className = "message-text";
    text.textContent = message.text;
    entry.append(head, text);
    const log = this.#find("#chat-log");
    log.append(entry);
    log.scrollTop = log.scrollHeight;
  }

  #recipient(message) {
    if (message.room) return t("to your private room");
    if (!message.to) return this.#config.kind === "hearing" ? t("to the court") : t("to the organisers");
    if (message.to === this.#config.participant_id) return t("to you");
    const person = ((this.#view && this.#view.participants) || []).find((candidate) => candidate.id === message.to);
    return t("to %(name)s", { name: person ? displayName(person) : "…" });
  }

  async #send() {
    const field = this.#find("#chat-text");
    const text = field.value.trim();
    if (!text) return;
    const payload = { text };
    const select = this.#find("#chat-to");
    if (this.#find("#chat-room").checked) payload.room = true;
    else if (select && select.value) payload.to = select.value;
    const reply = await this.#signal.request("chat", payload);
    if (reply.ok) field.value = "";
  }

  #find(selector) {
    return this.#root.querySelector(selector);
  }
}

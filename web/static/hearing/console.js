// The side panels: who takes part (everyone sees the list), and for those who run the
// session the lobby queue, the raised hands, per-person controls, session controls and
// screening. The page shows only the controls the server's permission table grants this
// role; every command is still decided by the server, and its refusals are shown as they
// come back.
import { t } from "./i18n.js";
import { attach, displayName, renderBadges, roleLabel } from "./room.js";

const TAKING_PART = new Set(["in_session", "in_consultation"]);
const TARGETED = new Set([
  "admit", "deny", "remove", "verify_identity", "mute", "unmute", "unlock",
  "give_floor", "lower_hand", "call_witness", "dismiss_witness",
]);
const CONFIRMS = {
  deny: (name) => t("Refuse %(name)s entry to the session? They cannot come back with this link.", { name }),
  remove: (name) => t("Remove %(name)s from the session? They cannot come back with this link.", { name }),
  close: () => t("Close the session for everyone?"),
  postpone: () => t("Postpone the session? Everyone will be disconnected."),
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Bring `list` in line with `items` ({id, signature}), rebuilding only the entries whose
 * signature changed, and keeping an open action menu and the keyboard focus where they were.
 */
function syncList(list, items, build) {
  const existing = new Map([...list.children].map((child) => [child.dataset.id, child]));
  items.forEach((item, index) => {
    let entry = existing.get(item.id);
    existing.delete(item.id);
    if (!entry || entry.dataset.signature !== item.signature) {
      const fresh = build(item);
      fresh.dataset.id = item.id;
      fresh.dataset.signature = item.signature;
      if (entry) carryOver(entry, fresh);
      else list.insertBefore(fresh, list.children[index] || null);
      entry = fresh;
    }
    if (list.children[index] !== entry) list.insertBefore(entry, list.children[index] || null);
  });
  for (const stale of existing.values()) stale.remove();
}

function carryOver(old, fresh) {
  const wasOpen = old.querySelector("details[open]");
  const focused = old.contains(document.activeElement) ? document.activeElement : null;
  old.replaceWith(fresh);
  if (wasOpen && fresh.querySelector("details")) fresh.querySelector("details").open = true;
  if (!focused) return;
  const same = focused.dataset && focused.dataset.command
    ? fresh.querySelector(`[data-command="${focused.dataset.command}"]`)
    : null;
  (same || fresh.querySelector("summary, button, input") || fresh).focus();
}

export class Console {
  #config;
  #signal;
  #root;
  #can;
  #view = null;
  #tracks = new Map();
  #handsSince = new Map();
  #screenings;
  #selected = new Set();

  constructor(config, signal, root) {
    this.#config = config;
    this.#signal = signal;
    this.#root = root;
    this.#can = new Set(config.permissions);
    this.#screenings = config.screenings.map((screening) => ({ ...screening }));
    root.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-command]");
      if (button && root.contains(button)) this.#command(button);
      const session = event.target.closest("button[data-session]");
      if (session) this.#sessionCommand(session.dataset.session);
    });
    root.addEventListener("change", (event) => {
      const box = event.target.closest("input[data-select]");
      if (!box) return;
      if (box.checked) this.#selected.add(box.dataset.select);
      else this.#selected.delete(box.dataset.select);
      this.#renderConsultationButtons();
    });
    this.#on("#mute-all", "click", () => {
      const lock = this.#find("#mute-all-lock");
      this.#signal.request("mute_all", { lock: Boolean(lock && lock.checked) });
    });
    this.#on("#take-floor", "click", () => this.#signal.request("take_floor", {}));
    this.#on("#consultation-form", "submit", (event) => {
      event.preventDefault();
      this.#consultation("move_to_consultation");
    });
    this.#on("#consultation-return", "click", () => this.#consultation("return_from_consultation"));
    this.#on("#screening-form", "submit", (event) => {
      event.preventDefault();
      this.#applyScreening();
    });
    this.#on("#screening-form", "change", () => this.#screeningError(""));
  }

  /** Tracks by publisher, for the camera of people waiting in the lobby. */
  setTracks(tracks) {
    this.#tracks = tracks;
    for (const thumb of this.#root.querySelectorAll("video[data-publisher]")) {
      attach(thumb, (tracks.get(thumb.dataset.publisher) || {}).camera || null);
    }
  }

  /** A `screening_changed` event: the view does not carry screenings, so keep them here. */
  screeningChanged(payload) {
    this.#screenings = this.#screenings.filter(
      (screening) => !(screening.protected === payload.protected && screening.hidden_from === payload.hidden_from),
    );
    if (payload.active) {
      this.#screenings.push({ protected: payload.protected, hidden_from: payload.hidden_from, audio: payload.audio });
    }
    this.#renderScreenings();
  }

  update(view) {
    this.#view = view;
    const people = view.participants || [];
    this.#trackHands(people);
    this.#renderPeople(people);
    this.#renderQueue(people);
    this.#renderHands(people);
    this.#renderSessionControls(view.session);
    this.#renderScreeningChoices(people);
    this.#renderScreenings();
  }

  // ------------------------------------------------------------------ lists

  #renderPeople(people) {
    const panel = this.#find("#people-panel");
    const list = this.#find("#people");
    if (!panel || !list) return;
    const runs = this.#config.permissions.includes("admit");
    const shown = people
      .filter((person) => person.state !== "in_lobby" && (runs || TAKING_PART.has(person.state)))
      .sort((a, b) => Number(TAKING_PART.has(b.state)) - Number(TAKING_PART.has(a.state)));
    panel.hidden = !people.length;
    this.#find("#people-count").textContent = String(people.filter((person) => TAKING_PART.has(person.state)).length);
    for (const id of [...this.#selected]) {
      if (!shown.some((person) => person.id === id)) this.#selected.delete(id);
    }
    syncList(list, shown.map((person) => ({ id: person.id, person, signature: this.#signature(person) })), ({ person }) =>
      this.#personEntry(person),
    );
    this.#renderConsultationButtons();
  }

  /** The consultation buttons act on the ticked people: with nobody ticked they are off,
   * and the hint above them (their description) says what to do. */
  #renderConsultationButtons() {
    const form = this.#find("#consultation-form");
    if (!form) return;
    for (const button of form.querySelectorAll("button")) button.disabled = this.#selected.size === 0;
  }

  #personEntry(person) {
    const entry = element("li", "person");
    const me = this.#view.you && person.id === this.#view.you.id;
    if (this.#can.has("manage_consultation") && !me && TAKING_PART.has(person.state)) {
      const box = element("input");
      box.type = "checkbox";
      box.id = `select-${person.id}`;
      box.dataset.select = person.id;
      box.checked = this.#selected.has(person.id);
      const label = element("label", "visually-hidden", t("Select %(name)s", { name: displayName(person) }));
      label.htmlFor = box.id;
      entry.append(box, label);
    }
    entry.append(this.#who(person, me));
    const actions = me ? [] : this.#actionsFor(person);
    if (actions.length) {
      const menu = element("details", "actions");
      const summary = element("summary", "", t("Actions"));
      summary.setAttribute("aria-label", t("Actions for %(name)s", { name: displayName(person) }));
      const buttons = element("div", "buttons");
      buttons.append(...actions.map(([command, text, extra]) => this.#button(command, text, person, extra)));
      menu.append(summary, buttons);
      entry.append(menu);
    }
    return entry;
  }

  #who(person, me) {
    const who = element("div", "who");
    who.append(element("strong", "person-name", me ? t("%(name)s (you)", { name: displayName(person) }) : displayName(person)));
    who.append(" ", element("span", "person-role", roleLabel(this.#config, person)));
    const facts = [];
    if (person.state !== "in_session") facts.push(this.#config.person_states[person.state] || person.state);
    const point = this.#pointName(person.point);
    if (point) facts.push(point);
    if (person.consultation) facts.push(this.#roomName(person.consultation));
    if (this.#needsCheck(person)) facts.push(person.verified ? t("identity verified") : t("identity not verified"));
    if (facts.length) who.append(element("span", "person-facts", facts.join(" · ")));
    const chips = element("span", "chips");
    renderBadges(chips, person);
    who.append(chips);
    return who;
  }

  #actionsFor(person) {
    const can = (action) => this.#can.has(action);
    const present = TAKING_PART.has(person.state);
    const actions = [];
    if (present) {
      if (can("mute_others") && !person.muted) actions.push(["mute", t("Mute")]);
      if (can("lock_media") && !person.locked) actions.push(["mute", t("Mute and lock"), { lock: true }]);
      if (can("unmute_others") && person.muted && !person.locked) actions.push(["unmute", t("Unmute")]);
      if (can("lock_media") && person.locked) actions.push(["unlock", t("Unlock the microphone")]);
      if (can("give_floor") && person.state === "in_session" && !person.floor) actions.push(["give_floor", t("Give the floor")]);
      if (can("give_floor") && person.floor) actions.push(["take_floor", t("Take the floor back")]);
      if (can("give_floor") && person.hand) actions.push(["lower_hand", t("Lower the hand")]);
      if (can("call_witness") && this.#isCalled(person) && person.state === "in_session") {
        actions.push(["dismiss_witness", t("Send back to the lobby")]);
      }
      if (can("verify_identity") && this.#needsCheck(person) && !person.verified) {
        actions.push(["verify_identity", t("Mark identity verified")]);
      }
    }
    if (can("remove") && !["removed", "denied"].includes(person.state)) actions.push(["remove", t("Remove from the session")]);
    return actions;
  }

  #renderQueue(people) {
    const list = this.#find("#queue");
    if (!list) return;
    const waiting = people.filter((person) => person.state === "in_lobby");
    this.#find("#queue-count").textContent = String(waiting.length);
    this.#find("#queue-empty").hidden = waiting.length > 0;
    syncList(list, waiting.map((person) => ({ id: person.id, person, signature: this.#signature(person) })), ({ person }) => {
      const entry = element("li", "person waiting");
      const thumb = element("video", "thumb");
      thumb.muted = true;
      thumb.autoplay = true;
      thumb.playsInline = true;
      thumb.dataset.publisher = person.id;
      thumb.setAttribute("aria-label", t("Camera of %(name)s", { name: displayName(person) }));
      attach(thumb, (this.#tracks.get(person.id) || {}).camera || null);
      entry.append(thumb, this.#who(person, false));
      const buttons = element("div", "buttons");
      buttons.append(...this.#entryButtons(person));
      if (this.#can.has("deny")) buttons.append(this.#button("deny", t("Refuse entry"), person));
      entry.append(buttons);
      return entry;
    });
  }

  /** How a waiting person comes in: identity first where the law wants it checked. Whoever
   * may verify does both in one click; whoever may not sees why they must wait, and no
   * button that would only be refused. A witness is invited into the courtroom, not
   * "summoned" (a summons is what brought them to court). */
  #entryButtons(person) {
    const called = this.#isCalled(person);
    const command = called ? "call_witness" : "admit";
    if (!this.#can.has(command)) return [];
    if (!this.#needsCheck(person) || person.verified) {
      const admit = this.#config.kind === "meeting" ? t("Admit to the meeting") : t("Admit");
      return [this.#button(command, called ? t("Invite into the courtroom") : admit, person)];
    }
    if (this.#can.has("verify_identity")) {
      const text = called ? t("Verify identity and invite into the courtroom") : t("Verify identity and admit");
      return [
        this.#button("verify_identity", t("Mark identity verified"), person),
        this.#button(command, text, person, { verifyFirst: true }),
      ];
    }
    return [element("p", "note needs-verification", t("The presiding judge or the clerk must verify this person's identity first."))];
  }

  #trackHands(people) {
    for (const person of people) {
      if (person.hand && !this.#handsSince.has(person.id)) this.#handsSince.set(person.id, performance.now());
      if (!person.hand) this.#handsSince.delete(person.id);
    }
  }

  #renderHands(people) {
    const list = this.#find("#hands");
    if (!list) return;
    const holder = people.find((person) => person.floor);
    this.#find("#floor-holder").textContent = holder
      ? t("%(name)s has the floor.", { name: displayName(holder) })
      : t("Nobody has the floor.");
    this.#find("#take-floor").hidden = !holder;
    const raised = people
      .filter((person) => person.hand && this.#handsSince.has(person.id))
      .sort((a, b) => this.#handsSince.get(a.id) - this.#handsSince.get(b.id));
    this.#find("#hands-empty").hidden = raised.length > 0;
    syncList(list, raised.map((person) => ({ id: person.id, person, signature: this.#signature(person) })), ({ person }) => {
      const entry = element("li", "person");
      entry.append(this.#who(person, false));
      const buttons = element("div", "buttons");
      if (person.state === "in_session") buttons.append(this.#button("give_floor", t("Give the floor"), person));
      buttons.append(this.#button("lower_hand", t("Lower the hand"), person));
      entry.append(buttons);
      return entry;
    });
  }

  // ------------------------------------------------------------------ session and screening

  #renderSessionControls(session) {
    for (const button of this.#root.querySelectorAll("button[data-session]")) {
      const from = this.#config.session_commands[button.dataset.session] || [];
      button.disabled = !from.includes(session.state);
    }
  }

  #renderScreeningChoices(people) {
    const protectedSelect = this.#find("#screening-protected");
    if (!protectedSelect) return;
    const present = people.filter((person) => !["removed", "denied", "left"].includes(person.state));
    for (const select of [protectedSelect, this.#find("#screening-hidden")]) {
      const chosen = select.value;
      // Nobody is chosen until the judge chooses: a default would screen the first person
      // listed (the judge) by a slip of the hand.
      const prompt = element("option", "", t("Choose a person"));
      prompt.value = "";
      select.replaceChildren(
        prompt,
        ...present.map((person) => {
          const option = element("option", "", `${displayName(person)} — ${roleLabel(this.#config, person)}`);
          option.value = person.id;
          return option;
        }),
      );
      select.value = present.some((person) => person.id === chosen) ? chosen : "";
    }
  }

  #renderScreenings() {
    const list = this.#find("#screenings");
    if (!list) return;
    list.replaceChildren(
      ...this.#screenings.map((screening) => {
        const entry = element("li", "screening");
        const text = screening.audio
          ? t("%(protected)s is neither seen nor heard by %(hidden)s", this.#screeningNames(screening))
          : t("%(protected)s is not seen by %(hidden)s", this.#screeningNames(screening));
        const remove = element("button", "", t("Lift"));
        remove.type = "button";
        remove.setAttribute("aria-label", t("Lift the protective measure: %(what)s", { what: text }));
        remove.addEventListener("click", () =>
          this.#signal.request("set_screening", {
            protected: screening.protected,
            hidden_from: screening.hidden_from,
            active: false,
            audio: screening.audio,
          }),
        );
        entry.append(element("span", "", text), " ", remove);
        return entry;
      }),
    );
  }

  #screeningNames(screening) {
    return { protected: this.#nameOf(screening.protected), hidden: this.#nameOf(screening.hidden_from) };
  }

  async #applyScreening() {
    const audio = this.#find("#screening-audio");
    const protectedSelect = this.#find("#screening-protected");
    const hiddenSelect = this.#find("#screening-hidden");
    if (!protectedSelect.value || !hiddenSelect.value) {
      this.#screeningError(t("Choose the person to protect and the person who must not see them."));
      (protectedSelect.value ? hiddenSelect : protectedSelect).focus();
      return;
    }
    if (protectedSelect.value === hiddenSelect.value) {
      this.#screeningError(t("Choose two different people: nobody can be hidden from themselves."));
      hiddenSelect.focus();
      return;
    }
    const reply = await this.#signal.request("set_screening", {
      protected: protectedSelect.value,
      hidden_from: hiddenSelect.value,
      active: true,
      audio: Boolean(audio && audio.checked),
    });
    if (reply.ok) {
      protectedSelect.value = "";
      hiddenSelect.value = "";
    }
  }

  /** Say under the screening form what is wrong with the choice ("" clears it). */
  #screeningError(text) {
    const note = this.#find("#screening-error");
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
    for (const select of [this.#find("#screening-protected"), this.#find("#screening-hidden")]) {
      if (text) select.setAttribute("aria-invalid", "true");
      else select.removeAttribute("aria-invalid");
    }
  }

  async #consultation(command) {
    const ids = [...this.#selected];
    if (!ids.length) {
      this.#signal.dispatchEvent(
        new CustomEvent("error", { detail: { message: t("Tick at least one person in the list first.") } }),
      );
      return;
    }
    const payload = { participant_ids: ids };
    if (command === "move_to_consultation") {
      payload.room_name = this.#find("#consultation-name").value.trim() || t("Private consultation");
    }
    const reply = await this.#signal.request(command, payload);
    if (reply.ok) {
      this.#selected.clear();
      for (const box of this.#root.querySelectorAll("input[data-select]")) box.checked = false;
      this.#renderConsultationButtons();
    }
  }

  async #sessionCommand(command) {
    const ask = CONFIRMS[command];
    if (ask && !window.confirm(ask())) return;
    const payload = {};
    if (command === "suspend" || command === "postpone") {
      payload.reason = (this.#find("#session-reason") || { value: "" }).value.trim();
    }
    await this.#signal.request(command, payload);
  }

  // ------------------------------------------------------------------ commands

  #button(command, text, person, extra = {}) {
    const button = element("button", command === "deny" || command === "remove" ? "danger" : "", text);
    button.type = "button";
    button.dataset.command = command;
    if (TARGETED.has(command)) button.dataset.participant = person.id;
    if (extra.lock) button.dataset.lock = "true";
    if (extra.verifyFirst) button.dataset.verifyFirst = "true";
    button.setAttribute("aria-label", `${text}: ${displayName(person)}`);
    return button;
  }

  async #command(button) {
    const { command, participant } = button.dataset;
    const ask = CONFIRMS[command];
    if (ask && !window.confirm(ask(this.#nameOf(participant)))) return;
    const payload = {};
    if (participant) payload.participant_id = participant;
    if (button.dataset.lock) payload.lock = true;
    button.disabled = true;
    try {
      if (button.dataset.verifyFirst) {
        const verified = await this.#signal.request("verify_identity", { participant_id: participant });
        if (!verified.ok) return;
      }
      await this.#signal.request(command, payload);
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ helpers

  #signature(person) {
    return JSON.stringify([
      displayName(person), person.state, person.muted, person.locked, person.hand, person.floor,
      person.verified, person.screen, person.consultation, person.point,
      this.#selected.has(person.id), this.#roomName(person.consultation),
    ]);
  }

  #needsCheck(person) {
    return this.#config.identity_check_roles.includes(person.role);
  }

  #isCalled(person) {
    return this.#config.called_roles.includes(person.role);
  }

  #nameOf(id) {
    const person = ((this.#view && this.#view.participants) || []).find((candidate) => candidate.id === id);
    return person ? displayName(person) : id || "";
  }

  #pointName(id) {
    const points = (this.#view && this.#view.session && this.#view.session.points) || [];
    const point = points.find((candidate) => candidate.id === id);
    return point ? point.name : "";
  }

  #roomName(id) {
    if (!id) return "";
    const rooms = (this.#view && this.#view.session && this.#view.session.consultation_rooms) || [];
    const room = rooms.find((candidate) => candidate.id === id);
    return room ? room.name : t("private room");
  }

  #find(selector) {
    return this.#root.querySelector(selector);
  }

  #on(selector, event, handler) {
    const target = this.#find(selector);
    if (target) target.addEventListener(event, handler);
  }
}

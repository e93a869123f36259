// The hearing room's picture: one tile per person taking part in the same room, pages of
// tiles, a large stage for a shared screen (or, failing that, whoever has the floor; in a
// meeting, whoever speaks), the active speaker highlighted, and every received microphone
// played. The server decides who the active speaker is, from the levels on the audio packets.
import { t } from "./i18n.js";

const PAGE_SIZE = 9;
const PHONE_PAGE_SIZE = 4;
const TAKING_PART = new Set(["in_session", "in_consultation"]);

/** People whose picture this person may see now: taking part, in the same room. */
export function roomMates(view) {
  if (!view || !view.participants || !view.you) return [];
  return view.participants.filter(
    (person) => person.id !== view.you.id && TAKING_PART.has(person.state) && person.consultation === view.you.consultation,
  );
}

/** The name to show: a protected participant is never named to whom they are screened from. */
export function displayName(person) {
  return person.protected ? t("Protected participant") : person.name;
}

/** A person's role in the page language; a protected participant has none to show. */
export function roleLabel(config, person) {
  return person.role ? config.role_labels[person.role] || person.role : "";
}

/** Short labels of a person's state, shown as chips on tiles and in lists. */
export function badges(person) {
  const found = [];
  if (person.floor) found.push(["floor", t("has the floor")]);
  if (person.hand) found.push(["hand", t("hand raised")]);
  if (person.locked) found.push(["locked", t("microphone locked")]);
  else if (person.muted) found.push(["muted", t("muted")]);
  if (person.screen) found.push(["screen", t("sharing screen")]);
  return found;
}

export function renderBadges(container, person) {
  container.replaceChildren(
    ...badges(person).map(([kind, text]) => {
      const chip = document.createElement("span");
      chip.className = `chip chip-${kind}`;
      chip.textContent = text;
      return chip;
    }),
  );
}

/** Up to two letters standing for a person when there is no picture: "Trần Văn An" → "TA". */
export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return "?";
  const letters = words.length === 1 ? [words[0]] : [words[0], words[words.length - 1]];
  return letters.map((word) => word[0].toLocaleUpperCase()).join("");
}

/** Show `track` in a media element, touching it only when it changed. */
export function attach(element, track) {
  const current = element.srcObject && element.srcObject.getTracks()[0];
  if ((current || null) === (track || null)) return;
  element.srcObject = track ? new MediaStream([track]) : null;
  if (track) element.play().catch(() => {});
}

const FIRST_PICTURE = "hearing:first-remote-picture";

/** Mark the first remote picture the page shows (a performance mark, read by the browser
 * tests to report the time from entering the room to a picture, where the person sees it). */
function markFirstPicture(video) {
  if (!video.requestVideoFrameCallback || performance.getEntriesByName(FIRST_PICTURE).length) return;
  if (video.dataset.pictureWatched) return;
  video.dataset.pictureWatched = "true";
  video.requestVideoFrameCallback(() => {
    if (!performance.getEntriesByName(FIRST_PICTURE).length) performance.mark(FIRST_PICTURE);
  });
}

export class RoomView {
  #config;
  #root;
  #tiles = new Map();
  #audio = new Map();
  #tracks = new Map();
  #view = null;
  #page = 0;
  #speaking = null;
  #narrow;

  constructor(config, root) {
    this.#config = config;
    this.#root = root;
    this.#narrow = window.matchMedia("(max-width: 40rem)");
    this.#narrow.addEventListener("change", () => this.#render());
    this.#element("#page-previous").addEventListener("click", () => this.#turn(-1));
    this.#element("#page-next").addEventListener("click", () => this.#turn(1));
  }

  /** Tracks by publisher: {camera, microphone, screen}, for other panels (the lobby queue). */
  get tracks() {
    return this.#tracks;
  }

  update(view) {
    this.#view = view;
    this.#render();
  }

  setTracks(list) {
    this.#tracks = new Map();
    for (const { publisher, source, track } of list) {
      if (!this.#tracks.has(publisher)) this.#tracks.set(publisher, {});
      this.#tracks.get(publisher)[source] = track;
    }
    this.#playAudio();
    this.#render();
  }

  /** This person's own camera, in the room's corner and in the lobby. */
  setLocal(track) {
    attach(this.#element("#self-tile video"), track);
    attach(this.#element("#lobby-self"), track);
    this.#element("#self-tile").dataset.video = track && track.enabled ? "on" : "off";
  }

  /** The server's `active_speaker` (a participant id as this person knows it, or null). */
  setSpeaker(participantId) {
    if (participantId === this.#speaking) return;
    this.#speaking = participantId;
    this.#render();
  }

  clear() {
    this.setTracks([]);
  }

  #playAudio() {
    const sinks = this.#element("#audio-sinks");
    for (const [publisher, element] of this.#audio) {
      if (!(this.#tracks.get(publisher) || {}).microphone) {
        element.remove();
        this.#audio.delete(publisher);
      }
    }
    for (const [publisher, sources] of this.#tracks) {
      if (!sources.microphone) continue;
      let element = this.#audio.get(publisher);
      if (!element) {
        element = document.createElement("audio");
        element.autoplay = true;
        element.dataset.publisher = publisher;
        sinks.append(element);
        this.#audio.set(publisher, element);
      }
      attach(element, sources.microphone);
    }
  }

  #render() {
    const view = this.#view;
    const people = roomMates(view);
    const wanted = new Set(people.map((person) => person.id));
    for (const [id, tile] of this.#tiles) {
      if (!wanted.has(id)) {
        attach(tile.querySelector("video"), null);
        tile.remove();
        this.#tiles.delete(id);
      }
    }
    const grid = this.#element("#tiles");
    const size = this.#narrow.matches ? PHONE_PAGE_SIZE : PAGE_SIZE;
    const pages = Math.max(1, Math.ceil(people.length / size));
    this.#page = Math.min(this.#page, pages - 1);
    people.forEach((person, index) => {
      let tile = this.#tiles.get(person.id);
      if (!tile) {
        tile = document.getElementById("tile-template").content.firstElementChild.cloneNode(true);
        tile.dataset.participant = person.id;
        this.#tiles.set(person.id, tile);
      }
      if (grid.children[index] !== tile) grid.insertBefore(tile, grid.children[index] || null); // the view's order
      this.#caption(tile, person, view);
      tile.classList.toggle("speaking", person.id === this.#speaking);
      const visible = Math.floor(index / size) === this.#page;
      tile.hidden = !visible;
      const camera = (this.#tracks.get(person.id) || {}).camera || null;
      attach(tile.querySelector("video"), visible ? camera : null);
      if (visible && camera) markFirstPicture(tile.querySelector("video"));
      tile.dataset.video = visible && camera ? "on" : "off";
    });
    // How many tiles this page shows: the wide layout picks its columns from it (hearing.css).
    grid.dataset.count = String(Math.max(0, Math.min(size, people.length - this.#page * size)));
    this.#element("#tiles-empty").hidden = people.length > 0;
    this.#element("#pager").hidden = pages <= 1;
    this.#element("#page-info").textContent = t("Page %(page)s of %(pages)s", { page: this.#page + 1, pages });
    this.#element("#page-previous").disabled = this.#page === 0;
    this.#element("#page-next").disabled = this.#page >= pages - 1;
    const you = view && view.you;
    this.#element("#self-tile").classList.toggle("speaking", Boolean(you) && you.id === this.#speaking);
    this.#renderStage(people);
  }

  #caption(tile, person, view) {
    const name = displayName(person);
    tile.querySelector(".tile-name").textContent = name;
    tile.dataset.initials = person.protected ? "?" : initials(name);
    const role = roleLabel(this.#config, person);
    const point = ((view.session && view.session.points) || []).find((candidate) => candidate.id === person.point);
    tile.querySelector(".tile-role").textContent = point && this.#config.kind === "meeting" ? `${role} · ${point.name}` : role;
    tile.setAttribute("aria-label", role ? `${name}, ${role}` : name);
    tile.classList.toggle("floor", Boolean(person.floor));
    renderBadges(tile.querySelector(".tile-badges"), person);
  }

  /** A shared screen first; otherwise the person holding the floor, large; in a meeting,
   * failing both, whoever is speaking (the chair's "speaker" view). */
  #renderStage(people) {
    const hasCamera = (person) => Boolean((this.#tracks.get(person.id) || {}).camera);
    const sharing = people.find((person) => person.screen && (this.#tracks.get(person.id) || {}).screen);
    const floor = people.find((person) => person.floor && hasCamera(person));
    const talking =
      this.#config.kind === "meeting" ? people.find((person) => person.id === this.#speaking && hasCamera(person)) : undefined;
    const speaker = floor || talking;
    const stage = this.#element("#stage");
    const shown = sharing || speaker;
    stage.hidden = !shown;
    attach(this.#element("#stage-video"), shown ? this.#tracks.get(shown.id)[sharing ? "screen" : "camera"] : null);
    stage.dataset.content = sharing ? "screen" : speaker ? "speaker" : "";
    this.#element("#stage-label").textContent = sharing
      ? t("%(name)s is sharing a screen", { name: displayName(sharing) })
      : floor
        ? t("%(name)s has the floor", { name: displayName(floor) })
        : talking
          ? t("%(name)s is speaking", { name: displayName(talking) })
          : "";
  }

  #turn(step) {
    this.#page = Math.max(0, this.#page + step);
    this.#render();
  }

  #element(selector) {
    return this.#root.querySelector(selector);
  }
}

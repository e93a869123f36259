// Recording as everyone sees it: the indicator above the pictures (recording, paused), the
// note that one's own room is not recorded (the lobby, a private room, deliberation), a
// visible notice and a spoken sentence at each change; and, for whoever may record, the
// console's start / pause / resume buttons. What is recorded is the server's decision: the
// view's `session.recording` and each person's `room_recorded` (from the domain) drive
// everything here, and every command's refusal is shown in the server's words.
import { localized, t } from "./i18n.js";

/** How long the visible notice of a change stays up (the indicator itself stays). */
const NOTICE_MS = 12000;
const RUNNING = new Set(["recording", "paused"]);

/** The sentence for one `recording_state_changed` event, for the notice and the live region. */
export function recordingSentence(payload, view) {
  const { previous, current, reason } = payload || {};
  let sentence = "";
  if (current === "recording" && reason === "automatic") sentence = t("Recording started automatically with the hearing.");
  else if (current === "recording" && previous === "paused") sentence = t("Recording has resumed.");
  else if (current === "recording") sentence = t("Recording has started.");
  else if (current === "paused" && reason === "suspended") sentence = t("Recording is paused while the session is suspended.");
  else if (current === "paused") sentence = t("Recording is paused.");
  else if (current === "stopped") sentence = t("Recording has stopped.");
  if (!sentence) return "";
  const you = view && view.you;
  if (you && you.room_recorded === false && current !== "stopped") {
    sentence = [sentence, t("This room is not recorded.")].join(" ");
  }
  return sentence;
}

export class RecordingIndicator {
  #root;
  #timer = null;
  #roomRecorded = null;

  constructor(root) {
    this.#root = root;
  }

  update(view) {
    const you = view.you || {};
    const recording = view.session.recording || "off";
    const inRoom = you.room_recorded === true;
    // A notice about the room one has just left would mislead in the new one.
    if (this.#roomRecorded !== null && this.#roomRecorded !== inRoom) this.notice("");
    this.#roomRecorded = inRoom;
    const indicator = this.#find("#recording-indicator");
    indicator.hidden = !(inRoom && RUNNING.has(recording));
    indicator.dataset.recording = recording;
    indicator.querySelector(".recording-text").textContent =
      recording === "paused" ? t("Recording paused") : t("Recording in progress");
    const consultation = Boolean(you.consultation);
    this.#find("#room-not-recorded").hidden = !(consultation && you.room_recorded === false);
    this.#find("#lobby-not-recorded").hidden = you.room_recorded !== false || consultation;
  }

  /** Show `text` above the pictures for a while (it is announced separately). */
  notice(text) {
    const notice = this.#find("#recording-notice");
    notice.textContent = text;
    notice.hidden = !text;
    clearTimeout(this.#timer);
    if (text) {
      this.#timer = setTimeout(() => {
        notice.hidden = true;
      }, NOTICE_MS);
    }
  }

  #find(selector) {
    return this.#root.querySelector(selector);
  }
}

export class RecordingControls {
  #signal;
  #root;
  #meeting;
  #view = null;

  constructor(config, signal, root) {
    this.#meeting = config.kind === "meeting";
    this.#signal = signal;
    this.#root = root;
    root.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-recording-command]");
      if (button && root.contains(button)) this.#command(button);
    });
  }

  get present() {
    return Boolean(this.#find(".recording-controls"));
  }

  update(view) {
    if (!this.present) return;
    this.#view = view;
    const { recording = "off", state, record_automatically: automatic } = view.session;
    const inSession = state === "in_session";
    const status = this.#find("#recording-status");
    status.dataset.recording = recording;
    const words = {
      off: t("Not recording"),
      recording: t("Recording in progress"),
      paused: t("Recording paused"),
      stopped: t("Recording has stopped"),
    };
    status.querySelector(".recording-status-text").textContent = words[recording] || recording;
    const shown = { start: recording === "off", pause: recording === "recording", resume: recording === "paused" };
    for (const button of this.#root.querySelectorAll("button[data-recording-command]")) {
      const command = button.dataset.recordingCommand;
      button.hidden = !shown[command];
      button.disabled = command !== "pause" && !inSession;
    }
    let hint = "";
    if (recording === "off" && automatic && ["scheduled", "open"].includes(state)) {
      hint = t("Recording will start by itself when the hearing starts.");
    } else if (!inSession && recording !== "stopped") {
      hint = this.#meeting
        ? t("Recording can be started or resumed only while the meeting is in session.")
        : t("Recording can be started or resumed only while the hearing is in session.");
    }
    this.#find("#recording-hint").textContent = hint;
    if (recording === "recording") this.problem("");
  }

  /** A reason recording could not start, in the server's words ("" clears it). */
  problem(text) {
    const note = this.#find("#recording-problem");
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
  }

  /** A `recording_not_started` event: the hearing started (or resumed), recording did
   * not; say why. */
  notStarted(payload) {
    const reason = localized(payload.message);
    const text =
      payload.reason === "resumed"
        ? t("Recording did not resume: %(reason)s", { reason })
        : t("Recording did not start automatically: %(reason)s", { reason });
    this.problem(text);
    return text;
  }

  async #command(button) {
    const command = button.dataset.recordingCommand === "pause" ? "pause_recording" : "start_recording";
    button.disabled = true;
    try {
      const reply = await this.#signal.request(command, {});
      if (!reply.ok) this.problem(localized(reply.error && reply.error.message));
    } finally {
      if (this.#view) this.update(this.#view);
    }
  }

  #find(selector) {
    return this.#root.querySelector(selector);
  }
}

// The join page's script: device check → lobby → hearing room (and the console for those
// who run the session), driven by the server's socket.io events (docs/signaling.md).
// Everything shown comes from the view the server sent (kept current from its changes,
// changes.js); the page never decides
// what a person may do, it only asks and shows the answer.
import { FollowedView } from "./changes.js";
import { Chat } from "./chat.js";
import { Console } from "./console.js";
import { DeviceCheck } from "./devicecheck.js";
import { localized, t } from "./i18n.js";
import { MediaSession } from "./media.js";
import { ADVISE_AFTER_ATTEMPTS, Backoff } from "./retry.js";
import { MinutesPanel } from "./minutes.js";
import { RecordingControls, RecordingIndicator, recordingSentence } from "./recording.js";
import { displayName, RoomView } from "./room.js";
import { Signal } from "./signal.js";

const TAKING_PART = new Set(["in_session", "in_consultation"]);
const LOBBY_STATES = new Set(["invited", "in_lobby", "disconnected"]);
const SERVER_QUALITY_FRESH_MS = 5000;
const MEDIA_DISCONNECTED_GRACE_MS = 6000;
/** A link not connected this long after it started (stuck in "new" or "connecting") failed. */
const MEDIA_CONNECT_DEADLINE_MS = 30000;
const REJOINABLE = new Set(["participant.left", "connection.replaced", "protocol.abuse"]);

const config = JSON.parse(document.getElementById("hearing-config").textContent);
const root = document.getElementById("hearing");
const find = (selector) => root.querySelector(selector);
const findAll = (selector) => [...root.querySelectorAll(selector)];
const hearing = config.kind === "hearing";

const signal = new Signal(config.token);
const check = new DeviceCheck(find("#join"), signal);
const room = new RoomView(config, root);
const panels = new Console(config, signal, root);
const chat = new Chat(config, signal, root);
const recordingIndicator = new RecordingIndicator(root);
const recordingControls = new RecordingControls(config, signal, root);
const minutes = config.minutes_editor ? new MinutesPanel(config, root) : null;
const followed = new FollowedView(
  () => signal.request("view", {}, { quiet: true }),
  () => {
    state.view = followed.view;
    render();
    if (state.joined) enter();
  },
);

const state = {
  view: null,
  media: null,
  mediaInfo: null,
  joined: false,
  ended: false,
  reconnecting: false,
  cameraOn: true,
  screen: null,
  suspendReason: "",
  serverQualityAt: 0,
  mediaBackoff: new Backoff(),
  mediaRetryTimer: null,
  mediaDeadlineTimer: null,
  mediaLostTimer: null,
};

// ---------------------------------------------------------------------- server events

signal.addEventListener("welcome", ({ detail }) => {
  followed.hold(detail.view, detail.version);
  state.view = followed.view;
  state.mediaInfo = detail.media || { enabled: false, ice_servers: [] };
  render();
  if (!state.joined) return;
  if (state.reconnecting) {
    state.reconnecting = false;
    banner("");
    announce(t("Connected again. You are back where you were."));
  }
  enter();
  startMedia();
});

signal.addEventListener("session_event", ({ detail }) => {
  if (!followed.follow(detail)) return; // a message was lost: the whole view is on its way
  const view = followed.view;
  const said = [];
  // One command's events come together: given the floor, a person hears once that their
  // microphone is on, not once for the unmute and again for the floor.
  const floorToMe = detail.events.some((e) => e.name === "floor_changed" && e.payload.holder === config.participant_id);
  for (const event of detail.events) {
    if (event.name === "screening_changed") panels.screeningChanged(event.payload);
    if (event.name === "session_state_changed") state.suspendReason = event.payload.current === "suspended" ? event.payload.reason || "" : "";
    if (floorToMe && event.name === "media_control_changed" && event.payload.participant_id === config.participant_id && !event.payload.muted) continue;
    const sentence = describe(event, view);
    if (event.name === "recording_state_changed") recordingIndicator.notice(sentence);
    if (event.name === "recording_not_started" && sentence) toast(sentence);
    said.push(sentence);
  }
  state.view = view;
  render();
  const sentence = said.filter(Boolean).join(" ");
  if (sentence) announce(sentence);
  if (state.joined) enter();
});

signal.addEventListener("offer", ({ detail }) => {
  if (state.media) state.media.acceptServerOffer(detail);
});

signal.addEventListener("chat", ({ detail }) => chat.add(detail));

signal.addEventListener("active_speaker", ({ detail }) => room.setSpeaker(detail.participant_id || null));

signal.addEventListener("quality", ({ detail }) => {
  if (detail.participant_id && detail.participant_id !== config.participant_id) return;
  state.serverQualityAt = performance.now();
  showQuality(detail.level || "unknown");
});

signal.addEventListener("error", ({ detail }) => toast(localized(detail.message) || detail.code || ""));

// The server tells whoever runs the recording (and IT staff) when it cannot be written.
signal.addEventListener("alert", ({ detail }) => {
  if (detail.kind !== "recording_failed" || detail.acknowledged_by || !recordingControls.present) return;
  const text = localized(detail.message);
  recordingControls.problem(text);
  toast(text);
  announce(text);
});

signal.addEventListener("goodbye", ({ detail }) => end(detail.reason || "", localized(detail.message)));

signal.addEventListener("refused", ({ detail }) => end("refused", localized(detail.message)));

signal.addEventListener("connection-lost", () => {
  if (!state.joined || state.ended) return;
  state.reconnecting = true;
  banner(t("The connection was lost. Reconnecting…"));
  showQuality("lost");
});

signal.addEventListener("connected", () => {
  if (state.reconnecting) banner(t("Connected. Restoring your place…"));
});

// ---------------------------------------------------------------------- joining

find("#join-button").addEventListener("click", async () => {
  find("#join-button").disabled = true;
  try {
    await signal.connect();
  } catch {
    return; // the refusal is shown by the "refused" handler
  }
  state.joined = true;
  check.finish();
  enter();
  startMedia();
});

/** Show the lobby or the room, whichever the server says this person is in. */
function enter() {
  if (state.ended || !state.view) return;
  const me = state.view.you;
  if (TAKING_PART.has(me.state)) phase("room");
  else if (LOBBY_STATES.has(me.state)) phase("lobby");
}

function phase(name) {
  if (root.dataset.phase === name) return;
  root.dataset.phase = name;
  if (name === "room" && !performance.getEntriesByName("hearing:room").length) performance.mark("hearing:room");
  for (const section of ["join", "lobby", "room", "ended"]) find(`#${section}`).hidden = section !== name;
  find("#videos").hidden = name !== "room";
  find("#side").hidden = !(name === "lobby" || name === "room");
  const heading = find(`#${name} h2`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function end(reason, message) {
  if (state.ended) return;
  state.ended = true;
  stopMedia();
  stopScreen(false);
  if (check.stream) for (const track of check.stream.getTracks()) track.stop();
  check.finish();
  const titles = {
    "participant.left": t("You have left the session"),
    "participant.removed": t("You were removed from the session"),
    "participant.denied": t("You were refused entry"),
    "session.closed": hearing ? t("The hearing has closed") : t("The meeting has closed"),
    "session.postponed": hearing ? t("The hearing has been postponed") : t("The meeting has been postponed"),
    "session.cancelled": hearing ? t("The hearing was cancelled") : t("The meeting was cancelled"),
    "connection.replaced": t("You joined from another window"),
    refused: t("You cannot join with this link"),
  };
  const title = titles[reason] || t("You are no longer connected");
  find("#ended-title").textContent = title;
  find("#ended-message").textContent = message;
  find("#rejoin").hidden = !REJOINABLE.has(reason);
  banner("");
  mediaBanner(0);
  phase("ended");
  announce(title);
}

// ---------------------------------------------------------------------- media

function startMedia() {
  stopMedia();
  const info = state.mediaInfo;
  find("#media-off").hidden = Boolean(info && info.enabled);
  room.setLocal(check.track("video"));
  if (!info || !info.enabled || state.ended) return;
  const me = state.view && state.view.you;
  const media = new MediaSession(
    signal,
    { microphone: check.track("audio"), camera: check.track("video"), screen: state.screen },
    info.ice_servers || [],
    { microphone: !(me && me.muted) },
  );
  media.addEventListener("tracks", ({ detail }) => {
    room.setTracks(detail.tracks);
    panels.setTracks(room.tracks);
  });
  media.addEventListener("stats", ({ detail }) => {
    if (performance.now() - state.serverQualityAt > SERVER_QUALITY_FRESH_MS) showQuality(localQuality(detail));
  });
  media.addEventListener("connection", ({ detail }) => mediaConnection(media, detail.state));
  media.addEventListener("failed", ({ detail }) => mediaFailed(media, `negotiation: ${JSON.stringify(detail)}`));
  state.media = media;
  const deadline = info.connect_seconds ? info.connect_seconds * 1000 : MEDIA_CONNECT_DEADLINE_MS;
  state.mediaDeadlineTimer = setTimeout(() => mediaFailed(media, "not connected in time"), deadline);
  media.start();
}

function stopMedia() {
  clearTimeout(state.mediaLostTimer);
  clearTimeout(state.mediaDeadlineTimer);
  clearTimeout(state.mediaRetryTimer);
  state.mediaRetryTimer = null;
  if (state.media) state.media.close();
  state.media = null;
  room.clear();
  panels.setTracks(room.tracks);
}

function mediaConnection(media, connectionState) {
  if (media !== state.media) return;
  clearTimeout(state.mediaLostTimer);
  if (connectionState === "connected") mediaConnected();
  else if (connectionState === "failed") mediaFailed(media, "connection failed");
  else if (connectionState === "disconnected") {
    state.mediaLostTimer = setTimeout(() => mediaFailed(media, "connection lost"), MEDIA_DISCONNECTED_GRACE_MS);
  }
}

function mediaConnected() {
  clearTimeout(state.mediaDeadlineTimer);
  const recovered = state.mediaBackoff.attempts > 0;
  state.mediaBackoff.succeed();
  mediaBanner(0);
  if (recovered) announce(t("Audio and video are connected again."));
}

/**
 * Every way a media link fails (an offer refused or unanswered, a connection that fails,
 * stays lost or never connects) ends here: the link is rebuilt after a growing pause,
 * through a fresh connection that replaces this one on the server, and the person is told.
 */
function mediaFailed(media, why) {
  if (media !== state.media || state.ended || state.mediaRetryTimer) return;
  clearTimeout(state.mediaDeadlineTimer);
  clearTimeout(state.mediaLostTimer);
  const delay = state.mediaBackoff.fail();
  console.warn(`media link failed (${why}); attempt ${state.mediaBackoff.attempts} in ${delay} ms`);
  mediaBanner(state.mediaBackoff.attempts);
  state.mediaRetryTimer = setTimeout(() => {
    state.mediaRetryTimer = null;
    // Without the socket, its own reconnection rebuilds media when the server welcomes it.
    if (state.ended || !signal.connected) return;
    stopMedia(); // the old link's last events must not count as another failure
    signal.restart();
  }, delay);
}

/** Tell the person which attempt is coming and, after several, what they can do. */
function mediaBanner(attempt) {
  const element = find("#media-banner");
  element.hidden = attempt === 0;
  if (!attempt) return;
  element.querySelector(".media-attempt").textContent = t("Reconnecting audio and video… (attempt %(attempt)s)", { attempt });
  element.querySelector(".media-advice").hidden = attempt < ADVISE_AFTER_ATTEMPTS;
}

function localQuality({ loss, roundTrip, state: connectionState }) {
  if (connectionState === "failed" || connectionState === "disconnected") return "lost";
  if (connectionState !== "connected") return "unknown";
  if (loss > 0.05 || (roundTrip !== null && roundTrip > 0.5)) return "poor";
  if (loss > 0.02 || (roundTrip !== null && roundTrip > 0.25)) return "fair";
  return "good";
}

// ---------------------------------------------------------------------- own controls

find("#mic-button").addEventListener("click", async () => {
  const me = state.view && state.view.you;
  if (!me) return;
  if (me.muted) {
    await signal.request("unmute", {}); // sending resumes when the server's view says so
  } else {
    if (state.media) await state.media.setSending("microphone", false);
    await signal.request("mute", {});
  }
});

find("#media-banner .media-reload").addEventListener("click", () => window.location.reload());

find("#camera-button").addEventListener("click", () => setCamera(!state.cameraOn));

for (const button of findAll(".hand-button")) {
  button.addEventListener("click", () => {
    const me = state.view && state.view.you;
    if (me) signal.request(me.hand ? "lower_hand" : "raise_hand", {});
  });
}

for (const button of findAll(".leave-button")) {
  button.addEventListener("click", () => {
    if (window.confirm(hearing ? t("Leave the hearing?") : t("Leave the meeting?"))) signal.request("leave", {});
  });
}

const screenButton = find("#screen-button");
if (screenButton) {
  screenButton.addEventListener("click", () => (state.screen ? stopScreen(true) : startScreen()));
}

async function startScreen() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch {
    return; // the person cancelled the browser's picker
  }
  const track = stream.getVideoTracks()[0];
  const reply = await signal.request("screen_share", { sharing: true });
  if (!reply.ok) {
    track.stop();
    return;
  }
  state.screen = track;
  track.addEventListener("ended", () => stopScreen(true));
  if (state.media) state.media.shareScreen(track);
  renderOwnControls();
}

function stopScreen(tell) {
  if (!state.screen) return;
  state.screen.stop();
  state.screen = null;
  if (state.media) state.media.shareScreen(null);
  if (tell) signal.request("screen_share", { sharing: false });
  renderOwnControls();
}

function setCamera(on) {
  state.cameraOn = on;
  const track = check.track("video");
  if (track) track.enabled = on;
  room.setLocal(track);
  renderOwnControls();
}

// ---------------------------------------------------------------------- rendering

function render() {
  const view = state.view;
  if (!view) return;
  find("#session-state").textContent = config.session_states[view.session.state] || view.session.state;
  find("#lobby-state").textContent = lobbySentence(view);
  find("#room-state").textContent = roomSentence(view);
  room.update(view);
  recordingIndicator.update(view);
  recordingControls.update(view);
  panels.update(view);
  chat.update(view);
  if (minutes) {
    minutes.speakers(view);
    minutes.refresh();
  }
  renderOwnControls();
}

function renderOwnControls() {
  const me = state.view && state.view.you;
  if (!me) return;
  if (me.lock_in_force && !state.cameraOn) setCamera(true); // the court's lock keeps the camera on
  for (const button of findAll(".hand-button")) {
    button.setAttribute("aria-pressed", String(me.hand));
    button.textContent = me.hand ? t("Lower hand") : t("Raise hand");
  }
  const mic = find("#mic-button");
  mic.setAttribute("aria-pressed", String(me.muted));
  mic.textContent = me.muted ? t("Unmute") : t("Mute");
  mic.disabled = me.lock_in_force; // in a private room the court's lock does not bind
  const camera = find("#camera-button");
  camera.setAttribute("aria-pressed", String(!state.cameraOn));
  camera.textContent = state.cameraOn ? t("Camera off") : t("Camera on");
  camera.disabled = me.lock_in_force || !check.track("video");
  find("#lock-note").hidden = !me.lock_in_force;
  find("#private-lock-note").hidden = !(me.locked && !me.lock_in_force);
  if (screenButton) {
    screenButton.setAttribute("aria-pressed", String(Boolean(state.screen)));
    screenButton.textContent = state.screen ? t("Stop sharing") : t("Share screen");
  }
  if (state.media) state.media.setSending("microphone", !me.muted);
}

function showQuality(level) {
  const texts = {
    good: t("Connection: good"),
    fair: t("Connection: fair"),
    poor: t("Connection: poor"),
    lost: t("Connection: lost"),
    unknown: t("Connection: not measured yet"),
  };
  const indicator = find("#quality");
  if (indicator.dataset.level === level) return;
  indicator.dataset.level = level in texts ? level : "unknown";
  indicator.textContent = texts[indicator.dataset.level];
}

function endedSentence(sessionState) {
  const sentences = {
    closed: hearing ? t("The hearing has closed.") : t("The meeting has closed."),
    postponed: hearing ? t("The hearing has been postponed.") : t("The meeting has been postponed."),
    cancelled: hearing ? t("The hearing was cancelled.") : t("The meeting was cancelled."),
  };
  return sentences[sessionState] || "";
}

function suspendedSentence() {
  const base = hearing ? t("The hearing is suspended.") : t("The meeting is suspended.");
  const reasons = {
    courtroom_connection_lost: t("The courtroom lost its connection."),
    panel_member_connection_lost: t("A member of the trial panel lost the connection."),
  };
  const reason = reasons[state.suspendReason] || state.suspendReason;
  return reason ? [base, reason].join(" ") : base;
}

function lobbySentence(view) {
  const sessionState = view.session.state;
  let sentence = endedSentence(sessionState);
  if (sentence) return sentence;
  if (sessionState === "suspended") {
    sentence = [suspendedSentence(), t("Please wait here.")].join(" ");
  } else if (sessionState === "in_session" && config.called_roles.includes(config.role)) {
    sentence = t("The hearing is in session. Please wait here until the presiding judge calls you.");
  } else if (sessionState === "in_session") {
    sentence = hearing
      ? t("The hearing is in session. Waiting for the court to admit you.")
      : t("The meeting is in session. Waiting for the organisers to admit you.");
  } else {
    sentence = hearing ? t("Waiting for the court to admit you.") : t("Waiting for the organisers to admit you.");
  }
  if (view.you.verified && config.identity_check_roles.includes(config.role)) {
    sentence = [sentence, t("The court has verified your identity.")].join(" ");
  }
  return sentence;
}

function roomSentence(view) {
  const sessionState = view.session.state;
  const ended = endedSentence(sessionState);
  if (ended) return ended;
  if (sessionState === "suspended") return suspendedSentence();
  if (view.you.consultation) {
    const rooms = view.session.consultation_rooms || [];
    const private_ = rooms.find((candidate) => candidate.id === view.you.consultation);
    return t("You are in the private room “%(name)s”; only the people in it see and hear you.", {
      name: private_ ? private_.name : "",
    });
  }
  if (sessionState === "in_session") return hearing ? t("The hearing is in session.") : t("The meeting is in session.");
  return hearing ? t("The hearing has not started yet.") : t("The meeting has not started yet.");
}

/** What to tell a screen reader (and the live region) about one event; "" for nothing. */
function describe(event, view) {
  const payload = event.payload || {};
  const me = config.participant_id;
  const people = [...((view && view.participants) || []), ...((state.view && state.view.participants) || [])];
  const name = (id) => displayName(people.find((person) => person.id === id) || { name: "" });
  const runs = config.permissions.includes("admit");
  switch (event.name) {
    case "session_state_changed":
      return t("The session is now: %(state)s.", { state: config.session_states[payload.current] || payload.current });
    case "participant_state_changed":
      if (payload.participant_id === me) return describeMyMove(payload);
      if (payload.current === "in_lobby" && runs) return t("%(name)s is waiting in the lobby.", { name: name(payload.participant_id) });
      if (payload.current === "in_session" && !TAKING_PART.has(payload.previous)) {
        return t("%(name)s joined.", { name: name(payload.participant_id) });
      }
      if (payload.current === "left") return t("%(name)s left.", { name: name(payload.participant_id) });
      if (payload.current === "disconnected") return t("%(name)s lost the connection.", { name: name(payload.participant_id) });
      return "";
    case "media_control_changed":
      if (payload.participant_id !== me) return "";
      if (payload.muted && payload.locked) return t("Your microphone has been muted and locked.");
      if (payload.muted) {
        return event.actor === me ? t("Your microphone is off.") : t("Your microphone is off; you may turn it on when you need to speak.");
      }
      return t("Your microphone is on.");
    case "floor_changed":
      if (!payload.holder) return t("Nobody has the floor now.");
      if (payload.holder === me) return t("You have the floor. Your microphone is on.");
      return t("%(name)s has the floor.", { name: name(payload.holder) });
    case "hand_changed":
      return payload.raised && payload.participant_id !== me && config.permissions.includes("give_floor")
        ? t("%(name)s raised a hand.", { name: name(payload.participant_id) })
        : "";
    case "identity_verified":
      return payload.participant_id === me ? t("The court has verified your identity.") : "";
    case "recording_state_changed":
      return recordingSentence(payload, view);
    case "recording_not_started":
      return recordingControls.present ? recordingControls.notStarted(payload) : "";
    case "screen_share_changed":
      return payload.sharing && payload.participant_id !== me
        ? t("%(name)s is sharing a screen.", { name: name(payload.participant_id) })
        : "";
    default:
      return "";
  }
}

function describeMyMove({ previous, current }) {
  if (current === "in_session" && previous === "in_lobby") return t("You have been admitted.");
  if (current === "in_lobby" && TAKING_PART.has(previous)) return t("You were sent back to the lobby.");
  if (current === "in_consultation") return t("You were moved to a private consultation room.");
  if (current === "in_session" && previous === "in_consultation") return t("You are back in the main room.");
  return "";
}

// ---------------------------------------------------------------------- messages on screen

function announce(text) {
  const region = find("#announcer");
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

function banner(text) {
  const element = find("#connection-banner");
  element.textContent = text;
  element.hidden = !text;
}

function toast(text) {
  if (!text) return;
  const element = find("#error-toast");
  element.querySelector(".toast-text").textContent = text;
  element.hidden = false;
}

find("#error-toast .toast-close").addEventListener("click", () => {
  find("#error-toast").hidden = true;
});

// The device check on the join page: camera preview, microphone level, a test tone for the
// speaker, and the network (socket.io round trip, ICE candidate gathering). The result goes
// to the server as `device_check` so court IT staff see who may have trouble.
import { t } from "./i18n.js";

const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const SOUND_LEVEL = 0.02;
const SILENCE_LIMIT_MS = 10000;
const WELCOME_LIMIT_MS = 10000;
const ICE_LIMIT_MS = 5000;
const ICE_GRACE_MS = 800;
const PINGS = 3;
const GOOD_ROUND_TRIP_MS = 400;
const MAX_DETAIL = 500;

const STATE_TEXT = {
  pending: () => t("Not checked yet"),
  checking: () => t("Checking…"),
  ok: () => t("Works"),
  denied: () => t("Not allowed by the browser"),
  missing: () => t("Not found"),
  failed: () => t("Does not work"),
  skipped: () => t("Skipped"),
  untested: () => t("Not tested"),
  poor: () => t("Works, but the connection is weak"),
  silent: () => t("No sound heard yet"),
};

/** Ask for the camera and microphone; when that fails, find out which one and why. */
export async function acquireMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: null, camera: "failed", microphone: "failed", help: "insecure", detail: "no mediaDevices" };
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: AUDIO, video: VIDEO });
    return { stream, camera: "ok", microphone: "ok", help: null, detail: "" };
  } catch (error) {
    if (outcomeOf(error) === "denied") {
      return { stream: null, camera: "denied", microphone: "denied", help: "denied", detail: error.name };
    }
    const video = await acquireOne({ video: VIDEO });
    const audio = await acquireOne({ audio: AUDIO });
    const tracks = [video, audio].flatMap((one) => (one.stream ? one.stream.getTracks() : []));
    const outcomes = [video.outcome, audio.outcome];
    const help = outcomes.includes("denied") ? "denied" : outcomes.includes("missing") ? "missing" : "failed";
    return {
      stream: tracks.length ? new MediaStream(tracks) : null,
      camera: video.outcome,
      microphone: audio.outcome,
      help,
      detail: `camera ${video.error}; microphone ${audio.error}`,
    };
  }
}

async function acquireOne(constraints) {
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(constraints), outcome: "ok", error: "" };
  } catch (error) {
    return { stream: null, outcome: outcomeOf(error), error: error.name };
  }
}

function outcomeOf(error) {
  if (error.name === "NotAllowedError" || error.name === "SecurityError") return "denied";
  if (error.name === "NotFoundError" || error.name === "OverconstrainedError") return "missing";
  return "failed";
}

/** Loudness (0..1) of a stream's audio, sampled with a WebAudio AnalyserNode. */
export class LevelMeter {
  #context;
  #timer;

  constructor(stream, onLevel, intervalMs = 100) {
    this.#context = new AudioContext();
    const analyser = this.#context.createAnalyser();
    analyser.fftSize = 1024;
    this.#context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.#context.resume().catch(() => {});
    this.#timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
    }, intervalMs);
  }

  stop() {
    clearInterval(this.#timer);
    this.#context.close().catch(() => {});
  }
}

/** A short two-note chime on the default output, to check that the speaker works. */
export async function playTone() {
  const context = new AudioContext();
  await context.resume();
  const gain = context.createGain();
  gain.connect(context.destination);
  const start = context.currentTime + 0.05;
  const notes = [523.25, 659.25, 783.99];
  let last = null;
  notes.forEach((frequency, index) => {
    const oscillator = context.createOscillator();
    oscillator.frequency.value = frequency;
    oscillator.connect(gain);
    oscillator.start(start + index * 0.35);
    oscillator.stop(start + index * 0.35 + 0.3);
    last = oscillator;
  });
  gain.gain.setValueAtTime(0.0001, start);
  gain.gain.exponentialRampToValueAtTime(0.3, start + 0.05);
  gain.gain.setValueAtTime(0.3, start + notes.length * 0.35 - 0.1);
  gain.gain.exponentialRampToValueAtTime(0.0001, start + notes.length * 0.35);
  await new Promise((resolve) => {
    last.onended = resolve;
  });
  await context.close();
}

/** Candidate types (host, srflx, relay) this browser gathers with the given ICE servers. */
async function gatherCandidates(iceServers) {
  const connection = new RTCPeerConnection({ iceServers });
  const types = new Set();
  try {
    connection.createDataChannel("check");
    const done = new Promise((resolve) => {
      const limit = setTimeout(resolve, ICE_LIMIT_MS);
      let grace = null;
      connection.onicecandidate = ({ candidate }) => {
        if (!candidate || !candidate.candidate) {
          clearTimeout(limit);
          resolve();
          return;
        }
        types.add(candidate.type || candidate.candidate.split(" ")[7] || "unknown");
        if (!grace) grace = setTimeout(resolve, ICE_GRACE_MS);
      };
    });
    await connection.setLocalDescription(await connection.createOffer());
    await done;
  } finally {
    connection.close();
  }
  return [...types];
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function within(promise, ms) {
  return Promise.race([
    promise,
    new Promise((resolve, reject) => setTimeout(() => reject(new Error("timeout")), ms)),
  ]);
}

/**
 * Drives the check's part of the join page. `stream` holds the camera and microphone once
 * granted; the page publishes those same tracks, so nobody is asked twice.
 */
export class DeviceCheck extends EventTarget {
  results = { camera: "pending", microphone: "pending", speaker: "untested", network: "pending" };
  stream = null;
  complete = false;
  #signal;
  #root;
  #meter = null;
  #details = {};
  #helps = new Set();
  #reported = "";
  #run = 0;

  constructor(root, signal) {
    super();
    this.#root = root;
    this.#signal = signal;
    this.#element("#check-start").addEventListener("click", () => this.run());
    this.#element("#check-retry").addEventListener("click", () => this.run());
    this.#element("#check-tone").addEventListener("click", () => this.#playTone());
    this.#element("#check-heard-yes").addEventListener("click", () => this.#heard(true));
    this.#element("#check-heard-no").addEventListener("click", () => this.#heard(false));
  }

  get passed() {
    const { camera, microphone, speaker, network } = this.results;
    return camera === "ok" && microphone === "ok" && speaker !== "failed" && (network === "ok" || network === "poor");
  }

  /** Run (or re-run) the whole check; the speaker waits for the person's answer. */
  async run() {
    const run = ++this.#run;
    this.complete = false;
    this.#stopMedia();
    this.#helps.clear();
    this.#details = {};
    this.#element("#check-start").hidden = true;
    this.#element("#check-retry").hidden = true;
    this.#element("#join-button").disabled = true;
    for (const name of ["camera", "microphone", "network"]) this.#set(name, "checking");
    this.#showHelp();
    this.#verdict(t("Checking your devices…"));

    const media = await acquireMedia();
    if (run !== this.#run) return;
    this.stream = media.stream;
    this.#details.media = media.detail;
    if (media.help) this.#helps.add(media.help);
    this.#element("#check-preview").srcObject = this.stream;
    this.#set("camera", media.camera);
    this.#set("microphone", media.microphone === "ok" ? "checking" : media.microphone);
    this.#element("#check-tone").disabled = false;

    const [heard] = await Promise.all([
      media.microphone === "ok" ? this.#listen() : Promise.resolve(media.microphone),
      this.#checkNetwork(),
    ]);
    if (run !== this.#run) return;
    this.#set("microphone", heard === "silent" ? "failed" : heard);
    if (heard === "silent") {
      this.#helps.add("silent");
      this.#details.microphone = "no sound";
    }
    this.complete = true;
    this.#conclude();
  }

  /** The person's camera and microphone tracks, for publishing. */
  track(kind) {
    if (!this.stream) return null;
    const tracks = kind === "audio" ? this.stream.getAudioTracks() : this.stream.getVideoTracks();
    return tracks.find((track) => track.readyState === "live") || null;
  }

  /** Stop the preview's meter (the tracks themselves stay for the hearing). */
  finish() {
    if (this.#meter) this.#meter.stop();
    this.#meter = null;
  }

  #listen() {
    const meterElement = this.#element("#check-meter");
    return new Promise((resolve) => {
      const started = performance.now();
      let settled = false;
      this.#meter = new LevelMeter(new MediaStream(this.stream.getAudioTracks()), (level) => {
        meterElement.value = level;
        if (settled) return;
        if (level >= SOUND_LEVEL) {
          settled = true;
          resolve("ok");
        } else if (performance.now() - started > SILENCE_LIMIT_MS) {
          settled = true;
          resolve("silent");
        }
      });
    });
  }

  async #checkNetwork() {
    let welcome;
    try {
      welcome = await within(this.#signal.connect(), WELCOME_LIMIT_MS);
    } catch (refusal) {
      this.#details.network = refusal && refusal.rule ? refusal.rule : "no connection";
      this.#helps.add("network");
      this.#set("network", "failed");
      return;
    }
    const trips = [];
    for (let i = 0; i < PINGS; i += 1) {
      const sent = performance.now();
      const reply = await this.#signal.request("ping", {}, { quiet: true });
      if (reply.ok) trips.push(performance.now() - sent);
    }
    if (!trips.length) {
      this.#details.network = "no answer to ping";
      this.#helps.add("network");
      this.#set("network", "failed");
      return;
    }
    const roundTrip = Math.round(median(trips));
    let candidates = [];
    const media = welcome.media || { enabled: false, ice_servers: [] };
    if (media.enabled) candidates = await gatherCandidates(media.ice_servers || []);
    this.#details.network = `round trip ${roundTrip} ms; ice ${media.enabled ? candidates.join("+") || "none" : "media off"}`;
    let outcome = roundTrip <= GOOD_ROUND_TRIP_MS ? "ok" : "poor";
    if (media.enabled && !candidates.length) outcome = "failed";
    if (outcome !== "ok") this.#helps.add("network");
    this.#set("network", outcome);
  }

  async #playTone() {
    const button = this.#element("#check-tone");
    button.disabled = true;
    try {
      await playTone();
      this.#element("#check-heard").hidden = false;
      this.#element("#check-heard-yes").focus();
    } catch (error) {
      this.#details.speaker = String(error && error.name);
      this.#set("speaker", "failed");
      this.#helps.add("speaker");
      this.#conclude();
    } finally {
      button.disabled = false;
    }
  }

  #heard(yes) {
    this.#element("#check-heard").hidden = true;
    this.#set("speaker", yes ? "ok" : "failed");
    if (yes) this.#helps.delete("speaker");
    else this.#helps.add("speaker");
    if (this.complete) this.#conclude();
    else this.#showHelp();
  }

  #conclude() {
    this.#showHelp();
    const failed = Object.entries(this.results)
      .filter(([, outcome]) => !["ok", "poor", "untested"].includes(outcome))
      .map(([name]) => this.#label(name));
    const join = this.#element("#join-button");
    join.disabled = false;
    join.textContent = this.passed ? t("Join") : t("Join anyway");
    this.#element("#check-retry").hidden = this.passed && this.results.network === "ok";
    if (!this.passed) {
      this.#verdict(t("Some checks failed: %(failed)s. You can still join, but the others may not see or hear you well.", { failed: failed.join(", ") }), "bad");
    } else if (this.results.speaker === "untested") {
      this.#verdict(t("Camera, microphone and network work. Play the test sound to check your speaker, then join."), "ok");
    } else {
      this.#verdict(t("Everything works. You can join."), "ok");
    }
    this.#report();
    this.dispatchEvent(new CustomEvent("verdict", { detail: { passed: this.passed } }));
  }

  #report() {
    const body = {
      passed: this.passed,
      camera: this.#reportable(this.results.camera),
      microphone: this.#reportable(this.results.microphone),
      speaker: this.results.speaker === "ok" || this.results.speaker === "failed" ? this.results.speaker : "untested",
      network: ["ok", "poor", "failed"].includes(this.results.network) ? this.results.network : "untested",
      detail: Object.entries(this.#details)
        .map(([key, value]) => `${key}: ${value}`)
        .join("; ")
        .slice(0, MAX_DETAIL),
    };
    const key = JSON.stringify(body);
    if (key === this.#reported || !this.#signal.connected) return;
    this.#reported = key;
    this.#signal.request("device_check", body, { quiet: true });
  }

  #reportable(outcome) {
    return ["ok", "denied", "missing", "failed", "skipped"].includes(outcome) ? outcome : "failed";
  }

  #stopMedia() {
    this.finish();
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
  }

  #set(name, outcome) {
    this.results[name] = outcome;
    const state = this.#root.querySelector(`[data-check="${name}"] .check-state`);
    state.dataset.state = outcome;
    state.textContent = (STATE_TEXT[outcome] || STATE_TEXT.failed)();
  }

  #label(name) {
    return { camera: t("camera"), microphone: t("microphone"), speaker: t("speaker"), network: t("network") }[name];
  }

  #showHelp() {
    for (const help of this.#root.querySelectorAll("[data-help]")) help.hidden = !this.#helps.has(help.dataset.help);
  }

  #verdict(text, tone = "") {
    const verdict = this.#element("#check-verdict");
    verdict.textContent = text;
    verdict.dataset.tone = tone;
  }

  #element(selector) {
    return this.#root.querySelector(selector);
  }
}

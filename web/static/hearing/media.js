// One RTCPeerConnection to the hearing server (docs/signaling.md, "WebRTC").
// The browser offers only what it publishes (sendonly microphone, camera, screen) with a
// mid → source map; the server answers, then offers its own sendonly m-lines carrying the
// others' tracks, each described in the offer's `tracks` (mid → publisher and source).
// Negotiation runs one step at a time; when both sides offer at once the browser gives way
// (rolls back), answers the server, and offers again.

const STATS_INTERVAL_MS = 1000;
const MAX_BITRATE = { camera: 700_000, screen: 1_500_000 };

const SERVER_EXTENSION_IDS = {
  "urn:ietf:params:rtp-hdrext:sdes:mid": 1,
  "urn:ietf:params:rtp-hdrext:ssrc-audio-level": 2,
  "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time": 3,
};

/** The server's payload type for a codec (rtx gets the one after its codec's), else null. */
function serverPayloadType(rtpmap, fmtp) {
  const name = rtpmap.split("/")[0].toLowerCase();
  if (name === "opus") return 96;
  if (name === "vp8") return 97;
  if (name === "h264" && /packetization-mode=1/.test(fmtp)) {
    if (/profile-level-id=42001f/i.test(fmtp)) return 99;
    if (/profile-level-id=42e01f/i.test(fmtp)) return 101;
  }
  return null;
}

/**
 * The server (aiortc) numbers payload types and RTP header extensions its own way in every
 * offer it makes, and Chromium refuses (or silently switches to) a renumbering of an m-line
 * already in use. So the browser offers only codecs and extensions the server forwards,
 * under the server's numbers: later offers from either side then change nothing.
 */
function alignWithServer(sdp) {
  const sections = sdp.split(/\r\n(?=m=)/);
  return sections.map((section, index) => (index === 0 ? section : alignSection(section))).join("\r\n");
}

function alignSection(section) {
  const lines = section.split("\r\n");
  const rtpmaps = {};
  const fmtps = {};
  for (const line of lines) {
    let match = /^a=rtpmap:(\d+) (\S+)/.exec(line);
    if (match) rtpmaps[match[1]] = match[2];
    match = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (match) fmtps[match[1]] = match[2];
  }
  const renumber = {};
  for (const [pt, rtpmap] of Object.entries(rtpmaps)) {
    const target = serverPayloadType(rtpmap, fmtps[pt] || "");
    if (target !== null) renumber[pt] = target;
  }
  for (const [pt, rtpmap] of Object.entries(rtpmaps)) {
    const apt = /apt=(\d+)/.exec(fmtps[pt] || "");
    if (rtpmap.toLowerCase().startsWith("rtx/") && apt && apt[1] in renumber) renumber[pt] = renumber[apt[1]] + 1;
  }
  const out = [];
  for (const line of lines) {
    const media = /^(m=\S+ \d+ \S+)( .*)?$/.exec(line);
    if (media) {
      const kept = (media[2] || "").trim().split(" ").filter((pt) => pt in renumber);
      out.push([media[1], ...kept.map((pt) => renumber[pt])].join(" "));
      continue;
    }
    const attribute = /^a=(rtpmap|rtcp-fb|fmtp):(\d+)( .*)$/.exec(line);
    if (attribute) {
      if (!(attribute[2] in renumber)) continue;
      const rest = attribute[3].replace(/apt=(\d+)/, (all, pt) => `apt=${renumber[pt]}`);
      out.push(`a=${attribute[1]}:${renumber[attribute[2]]}${rest}`);
      continue;
    }
    const extension = /^a=extmap:(\d+)(\/\w+)? (\S+)(.*)$/.exec(line);
    if (extension) {
      const id = SERVER_EXTENSION_IDS[extension[3]];
      if (id) out.push(`a=extmap:${id}${extension[2] || ""} ${extension[3]}${extension[4]}`);
      continue;
    }
    out.push(line);
  }
  return out.join("\r\n");
}

function preferCodec(transceiver, kind, mime) {
  if (!window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities || !transceiver.setCodecPreferences) return;
  const codecs = RTCRtpReceiver.getCapabilities(kind).codecs;
  const preferred = codecs.filter((codec) => codec.mimeType.toLowerCase() === mime);
  transceiver.setCodecPreferences([...preferred, ...codecs.filter((codec) => !preferred.includes(codec))]);
}

export class MediaSession extends EventTarget {
  #signal;
  #connection;
  #queue = Promise.resolve();
  #tracks = {};
  #local;
  #transceivers = {};
  #offerAgain = false;
  #offerSent = false;
  #waitingCandidates = [];
  #timer = null;
  #previous = null;
  closed = false;

  /**
   * `local`: {microphone, camera, screen} tracks (any may be null); `sending`: whether the
   * microphone starts out sending (false while muted).
   */
  constructor(signal, local, iceServers, { microphone = true } = {}) {
    super();
    this.#signal = signal;
    this.#local = { ...local };
    this.#connection = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    const connection = this.#connection;
    connection.onicecandidate = ({ candidate }) => this.#candidate(candidate);
    connection.ontrack = () => this.#announceTracks();
    connection.onconnectionstatechange = () => this.#fire("connection", { state: connection.connectionState });
    for (const source of ["microphone", "camera", "screen"]) {
      const track = this.#local[source];
      if (!track) continue;
      this.#transceivers[source] = connection.addTransceiver(track, { direction: "sendonly" });
    }
    if (this.#transceivers.camera) preferCodec(this.#transceivers.camera, "video", "video/vp8");
    if (this.#transceivers.screen) preferCodec(this.#transceivers.screen, "video", "video/vp8");
    if (!Object.keys(this.#transceivers).length) {
      // Nothing to publish: one inactive m-line still gives the connection a transport.
      connection.addTransceiver("audio", { direction: "inactive" });
    }
    if (this.#transceivers.microphone && !microphone) this.#transceivers.microphone.sender.replaceTrack(null);
  }

  get connectionState() {
    return this.#connection.connectionState;
  }

  /** Send the first offer and start measuring. */
  start() {
    this.#negotiate();
    this.#timer = setInterval(() => this.#sample(), STATS_INTERVAL_MS);
  }

  /** A server `offer` event: apply it and answer. */
  acceptServerOffer(offer) {
    return this.#enqueue(() => this.#answer(offer));
  }

  /** Start or stop sending a source without renegotiating (mute stops the packets). */
  async setSending(source, on) {
    const transceiver = this.#transceivers[source];
    if (!transceiver || this.closed) return;
    const track = on ? this.#local[source] : null;
    if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
  }

  /** Publish a screen (a track from getDisplayMedia), or stop with null. */
  shareScreen(track) {
    this.#local.screen = track;
    const transceiver = this.#transceivers.screen;
    if (track && !transceiver) {
      this.#transceivers.screen = this.#connection.addTransceiver(track, { direction: "sendonly" });
      preferCodec(this.#transceivers.screen, "video", "video/vp8");
    } else if (transceiver) {
      transceiver.sender.replaceTrack(track);
      transceiver.direction = track ? "sendonly" : "inactive";
    }
    return this.#negotiate();
  }

  /** Every track the server sends, with whose it is: [{mid, publisher, source, track}]. */
  remoteTracks() {
    const found = [];
    for (const transceiver of this.#connection.getTransceivers()) {
      const info = transceiver.mid === null ? null : this.#tracks[transceiver.mid];
      const direction = transceiver.currentDirection;
      if (!info || !(direction === "recvonly" || direction === "sendrecv")) continue;
      found.push({ mid: transceiver.mid, publisher: info.publisher, source: info.source, track: transceiver.receiver.track });
    }
    return found;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.#timer);
    this.#connection.close();
  }

  #enqueue(step) {
    const next = this.#queue.then(() => (this.closed ? undefined : step()));
    this.#queue = next.catch((error) => this.#fire("failed", { message: String(error && error.message) }));
    return this.#queue;
  }

  #negotiate() {
    return this.#enqueue(() => this.#offer());
  }

  async #offer() {
    const connection = this.#connection;
    if (connection.signalingState !== "stable") {
      this.#offerAgain = true;
      return;
    }
    this.#offerAgain = false;
    const offer = await connection.createOffer();
    await connection.setLocalDescription({ type: "offer", sdp: alignWithServer(offer.sdp) });
    const sources = {};
    for (const [source, transceiver] of Object.entries(this.#transceivers)) {
      if (transceiver.mid !== null && transceiver.direction === "sendonly") sources[transceiver.mid] = source;
    }
    // A refused or unanswered offer is the page's to retry and explain (app.js), not a toast.
    const answer = await this.#signal.request("offer", { sdp: connection.localDescription.sdp, sources }, { quiet: true });
    if (this.closed) return;
    if (answer.ok) {
      // Candidates wait for the first answer: the server could not use them earlier (it
      // takes a connection's messages in order), and after a refused offer each would be
      // one more refusal counted against the person's link.
      this.#offerSent = true;
      for (const body of this.#waitingCandidates.splice(0)) this.#sendCandidate(body);
      await connection.setRemoteDescription(answer.answer);
      await this.#limitBitrates();
      return;
    }
    // Only a link the server already answered can cross offers with it; a refused first
    // offer is a failure (the page retries), or the connection would wait in "new" forever.
    const negotiated = Boolean(connection.remoteDescription);
    if (connection.signalingState === "have-local-offer") await connection.setLocalDescription({ type: "rollback" });
    const error = answer.error || {};
    if (negotiated && error.code === "media_error" && error.rule !== "media.disabled") {
      this.#offerAgain = true; // the server had an offer of its own in flight: answer it first
    } else {
      this.#fire("failed", error);
    }
  }

  async #answer(offer) {
    const connection = this.#connection;
    if (connection.signalingState === "have-local-offer") {
      await connection.setLocalDescription({ type: "rollback" });
      this.#offerAgain = true;
    }
    await connection.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    this.#tracks = offer.tracks || {};
    await connection.setLocalDescription(await connection.createAnswer());
    await this.#signal.request("answer", { sdp: connection.localDescription.sdp });
    this.#announceTracks();
    if (this.#offerAgain) this.#negotiate();
  }

  async #limitBitrates() {
    for (const [source, limit] of Object.entries(MAX_BITRATE)) {
      const sender = this.#transceivers[source] && this.#transceivers[source].sender;
      if (!sender) continue;
      const parameters = sender.getParameters();
      if (!parameters.encodings || !parameters.encodings.length) continue;
      parameters.encodings[0].maxBitrate = limit;
      await sender.setParameters(parameters).catch(() => {});
    }
  }

  #candidate(candidate) {
    const body = candidate
      ? { candidate: candidate.candidate, sdp_mid: candidate.sdpMid, sdp_mline_index: candidate.sdpMLineIndex }
      : { candidate: null };
    if (this.#offerSent) this.#sendCandidate(body);
    else this.#waitingCandidates.push(body);
  }

  #sendCandidate(body) {
    this.#signal.request("ice_candidate", body, { quiet: true });
  }

  #announceTracks() {
    this.#fire("tracks", { tracks: this.remoteTracks() });
  }

  /** The link's round trip and loss, once a second (who speaks, the server says). */
  async #sample() {
    if (this.closed) return;
    let report;
    try {
      report = await this.#connection.getStats();
    } catch {
      return; // closed meanwhile
    }
    let received = 0;
    let lost = 0;
    let roundTrip = null;
    report.forEach((stats) => {
      if (stats.type === "inbound-rtp") {
        received += stats.packetsReceived || 0;
        lost += Math.max(0, stats.packetsLost || 0);
      } else if (stats.type === "candidate-pair" && stats.nominated && stats.state === "succeeded") {
        if (typeof stats.currentRoundTripTime === "number") roundTrip = stats.currentRoundTripTime;
      }
    });
    const previous = this.#previous || { received: 0, lost: 0 };
    const expected = received - previous.received + (lost - previous.lost);
    const loss = expected > 0 ? (lost - previous.lost) / expected : 0;
    this.#previous = { received, lost };
    this.#fire("stats", { loss, roundTrip, state: this.#connection.connectionState });
  }

  #fire(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }
}

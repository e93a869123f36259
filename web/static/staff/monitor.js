// Live monitor: follows every live session of the court over socket.io, read-only.
// The page as loaded already lists the live sessions; this keeps it current from
// `session_event`s, adds connection quality (`quality`) and alerts (`alert`), and picks up
// sessions that go live later by asking for the list again every few seconds.
import { FollowedView } from "/static/hearing/changes.js";

(() => {
  "use strict";
  const messages = window.I18N || {};
  const t = (id) => messages[id] || id;
  const config = JSON.parse(document.getElementById("monitor-config").textContent);
  const labels = config.labels;
  const lang = config.lang;
  const clock = new Intl.DateTimeFormat(lang === "vi" ? "vi-VN" : "en-GB", {
    timeZone: config.time_zone, hour: "2-digit", minute: "2-digit", second: "2-digit",
  });

  const statusLine = document.getElementById("monitor-status");
  const sessionsBox = document.getElementById("monitor-sessions");
  const noSessions = document.getElementById("no-sessions");
  const sessionCount = document.getElementById("session-count");
  const alertList = document.getElementById("alerts");
  const noAlerts = document.getElementById("no-alerts");
  const alertCount = document.getElementById("alert-count");

  const views = new Map(); // session id -> latest view from the server
  const followed = new Map(); // session id -> the view kept current from its changes
  const quality = new Map(); // session id -> {participant id -> measurements}
  const alerts = new Map(); // alert id -> alert
  let stopped = false;

  const CONNECTION = {
    none: t("no media"),
    new: t("starting"),
    connecting: t("connecting"),
    connected: t("connected"),
    disconnected: t("disconnected"),
    failed: t("failed"),
  };
  const LEVEL = {
    good: t("good"), fair: t("fair"), poor: t("poor"), lost: t("lost"), unknown: t("unknown"),
  };
  const ALERT_KIND = {
    disconnected: t("Disconnected"),
    media_silent: t("No sound or picture received"),
    device_check_failed: t("Device check failed"),
    connection_poor: t("Poor connection"),
    courtroom_lost: t("Courtroom connection lost"),
    server_overloaded: t("Server overloaded"),
  };

  // ------------------------------------------------------------------ small helpers

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-") || key.startsWith("aria-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }

  const inLanguage = (bilingual) => (bilingual ? bilingual[lang] || bilingual.en || "" : "");
  const at = (iso) => (iso ? clock.format(new Date(iso)) : "");

  // A moment written as every staff page writes it (rooms/dates.py): "10:47, thứ Tư 02/12/2026".
  const WEEKDAYS = {
    vi: ["Chủ nhật", "thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy"],
    en: ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
  };
  const partsOf = new Intl.DateTimeFormat("en-US", {
    timeZone: config.time_zone, weekday: "short", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const SHORT_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  function moment(iso) {
    if (!iso) return "";
    const part = Object.fromEntries(partsOf.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
    const weekday = WEEKDAYS[lang === "en" ? "en" : "vi"][SHORT_DAYS.indexOf(part.weekday)];
    const time = `${part.hour}:${part.minute}`;
    if (lang === "en") {
      const month = new Intl.DateTimeFormat("en-GB", { timeZone: config.time_zone, month: "long" }).format(new Date(iso));
      return `${time}, ${weekday} ${Number(part.day)} ${month} ${part.year}`;
    }
    return `${time}, ${weekday} ${part.day}/${part.month}/${part.year}`;
  }

  function setStatus(message, state) {
    statusLine.textContent = message;
    statusLine.dataset.state = state;
  }

  function refusal(error) {
    return inLanguage(error && error.message) || (error && error.code) || t("Refused.");
  }

  // ------------------------------------------------------------------ sessions

  function cell(label, ...content) {
    return el("td", { "data-label": label }, ...content);
  }

  function qualityCells(measured) {
    if (!measured) return [cell(t("Connection"), "—"), cell(t("Quality"), "—")];
    const connection = cell(t("Connection"), CONNECTION[measured.connection] || measured.connection);
    connection.className = "connection connection-" + measured.connection;
    const level = el("span", {
      class: "level level-" + measured.level, text: LEVEL[measured.level] || measured.level,
    });
    const numbers = [];
    if (typeof measured.loss === "number") numbers.push(t("loss") + " " + (measured.loss * 100).toFixed(1) + "%");
    if (typeof measured.rtt_ms === "number") numbers.push("RTT " + Math.round(measured.rtt_ms) + " ms");
    if (typeof measured.jitter_ms === "number") numbers.push(t("jitter") + " " + Math.round(measured.jitter_ms) + " ms");
    if (typeof measured.bitrate_in_kbps === "number") numbers.push(t("to the server") + " " + Math.round(measured.bitrate_in_kbps) + " kbps");
    if (typeof measured.bitrate_out_kbps === "number") numbers.push(t("from the server") + " " + Math.round(measured.bitrate_out_kbps) + " kbps");
    if (measured.video_paused_for_bandwidth > 0) numbers.push(t("video paused for bandwidth") + " (" + measured.video_paused_for_bandwidth + ")");
    const details = el("small", { class: "numbers", text: numbers.join(" · ") });
    const qualityCell = cell(t("Quality"), level, " ", details);
    qualityCell.className = "quality";
    return [connection, qualityCell];
  }

  function participantRow(session, person, measured) {
    const microphone = [person.muted ? t("muted") : t("not muted")];
    if (person.locked) microphone.push(t("locked"));
    const hand = [];
    if (person.hand) hand.push(t("hand raised"));
    if (session.floor_holder === person.id) hand.push(t("has the floor"));
    const state = el("span", {
      class: "pstate pstate-" + person.state,
      text: labels.participant_states[person.state] || person.state,
    });
    return el(
      "tr",
      { "data-participant-id": person.id, "data-state": person.state },
      cell(t("Name"), person.name),
      cell(t("Role"), labels.roles[person.role] || person.role),
      cell(t("State"), state),
      cell(t("Microphone"), microphone.join(" · ")),
      cell(t("Hand / floor"), hand.join(" · ")),
      ...qualityCells(measured),
    );
  }

  function sessionContent(view) {
    const session = view.session;
    const measured = quality.get(session.id) || {};
    const title = el("a", { href: "/staff/sessions/" + session.id });
    if (session.case_number) title.append(el("span", { class: "case-number", text: session.case_number }), " ");
    if (session.title !== session.case_number) title.append(session.title);
    const badges = [el("span", {
      class: "state state-" + session.state,
      text: labels.session_states[session.state] || session.state,
    })];
    if (session.recording === "recording") badges.push(" ", el("span", { class: "recording", text: t("recording") }));
    const head = el(
      "header", {},
      el("h3", { id: "session-" + session.id + "-title" }, title),
      el("p", { class: "session-state" }, ...badges),
    );
    const columns = [t("Name"), t("Role"), t("State"), t("Microphone"), t("Hand / floor"), t("Connection"), t("Quality")];
    const table = el(
      "table", { class: "rows participants" },
      el("thead", {}, el("tr", {}, ...columns.map((name) => el("th", { scope: "col", text: name })))),
      el("tbody", {}, ...view.participants.map((p) => participantRow(session, p, measured[p.id]))),
    );
    return [head, el("div", { class: "table-scroll" }, table)];
  }

  function render(sessionId) {
    const view = views.get(sessionId);
    if (!view) return;
    let section = document.getElementById("session-" + sessionId);
    if (!section) {
      section = el("section", {
        class: "monitor-session card", id: "session-" + sessionId,
        "data-session-id": sessionId, "aria-labelledby": "session-" + sessionId + "-title",
      });
      sessionsBox.append(section);
    }
    section.dataset.state = view.session.state;
    section.replaceChildren(...sessionContent(view));
    countSessions();
  }

  function countSessions() {
    const count = sessionsBox.querySelectorAll(".monitor-session").length;
    sessionCount.textContent = "(" + count + ")";
    noSessions.hidden = count > 0;
  }

  function forget(sessionId) {
    views.delete(sessionId);
    followed.delete(sessionId);
    quality.delete(sessionId);
    document.getElementById("session-" + sessionId)?.remove();
    for (const [id, alert] of alerts) if (alert.session_id === sessionId) alerts.delete(id);
    countSessions();
    renderAlerts();
  }

  // ------------------------------------------------------------------ alerts

  function personName(alert) {
    const view = views.get(alert.session_id);
    const person = view && view.participants.find((p) => p.id === alert.participant_id);
    return person ? person.name : "";
  }

  function alertItem(alert) {
    const view = views.get(alert.session_id);
    const where = [view ? view.session.title : "", personName(alert), moment(alert.at)].filter(Boolean);
    const item = el(
      "li",
      { id: "alert-" + alert.id, class: "alert alert-" + alert.kind, tabIndex: -1 },
      el("strong", { text: ALERT_KIND[alert.kind] || alert.kind }),
      " ",
      el("span", { class: "message", text: inLanguage(alert.message) }),
      el("small", { class: "meta", text: where.join(" · ") }),
    );
    if (alert.acknowledged_by) {
      item.classList.add("acknowledged");
      item.append(el("small", {
        class: "acknowledged-by",
        text: t("Acknowledged by") + " " + alert.acknowledged_by.name + " " + moment(alert.acknowledged_at),
      }));
    } else {
      const button = el("button", { type: "button", class: "small", text: t("Acknowledge") });
      button.addEventListener("click", () => acknowledge(alert, item));
      item.append(button);
    }
    return item;
  }

  function byNewestOpenFirst(a, b) {
    const open = Number(Boolean(a.acknowledged_by)) - Number(Boolean(b.acknowledged_by));
    return open || String(b.at).localeCompare(String(a.at));
  }

  /** One group per session (a hearing left suspended piles alerts up), with its open count
   * and one button that takes charge of all of them; alerts about the whole server apart. */
  function alertGroup(sessionId, group) {
    const view = views.get(sessionId);
    const open = group.filter((alert) => !alert.acknowledged_by).length;
    const title = sessionId ? (view ? view.session.title : sessionId) : t("The whole server");
    const heading = el("h3", { text: title + " " }, el("small", { text: "(" + open + " " + t("not acknowledged") + ")" }));
    const item = el("li", { class: "alert-group", id: "alerts-of-" + (sessionId || "server"), "data-session": sessionId || "" }, heading);
    if (sessionId && open > 1) {
      const button = el("button", { type: "button", class: "small acknowledge-all", text: t("Acknowledge all alerts of this session") });
      button.addEventListener("click", () => acknowledgeAll(sessionId, button));
      item.append(button);
    }
    item.append(el("ul", { class: "alert-list" }, ...group.sort(byNewestOpenFirst).map(alertItem)));
    return item;
  }

  function renderAlerts() {
    const all = [...alerts.values()];
    const groups = new Map();
    for (const alert of [...all].sort(byNewestOpenFirst)) {
      const key = alert.session_id || "";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(alert);
    }
    const focused = document.activeElement && document.activeElement.closest(".alert, .alert-group");
    alertList.replaceChildren(...[...groups].map(([sessionId, group]) => alertGroup(sessionId, group)));
    if (focused) document.getElementById(focused.id)?.focus();
    const open = all.filter((a) => !a.acknowledged_by).length;
    alertCount.textContent = all.length ? "(" + open + " " + t("not acknowledged") + ")" : "";
    noAlerts.hidden = all.length > 0;
  }

  async function acknowledgeAll(sessionId, button) {
    button.disabled = true;
    try {
      const reply = await socket.timeout(5000).emitWithAck("acknowledge_alert", { session_id: sessionId });
      if (!reply.ok) {
        setStatus(refusal(reply.error), "error");
        button.disabled = false;
      }
      // Each alert comes back acknowledged, to every monitor of the session.
    } catch (error) {
      setStatus(t("The server did not answer; try again."), "error");
      button.disabled = false;
    }
  }

  async function acknowledge(alert, item) {
    const button = item.querySelector("button");
    button.disabled = true;
    try {
      const reply = await socket.timeout(5000).emitWithAck(
        "acknowledge_alert", { session_id: alert.session_id, alert_id: alert.id },
      );
      if (!reply.ok) {
        setStatus(refusal(reply.error), "error");
        button.disabled = false;
      }
      // The server sends the alert again, acknowledged, to every monitor.
    } catch (error) {
      setStatus(t("The server did not answer; try again."), "error");
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ the connection

  const socket = io({ auth: { staff_token: config.staff_token }, transports: ["websocket"] });

  async function watch(sessionId) {
    let reply;
    try {
      reply = await socket.timeout(5000).emitWithAck("watch", { session_id: sessionId });
    } catch (error) {
      return; // no answer: the next refresh tries again
    }
    if (!reply.ok) {
      setStatus(refusal(reply.error), "error");
      return;
    }
    const follower = new FollowedView(
      () => socket.timeout(5000).emitWithAck("view", { session_id: sessionId }).catch(() => null),
      () => {
        if (!views.has(sessionId)) return;
        views.set(sessionId, follower.view);
        render(sessionId);
      },
    );
    follower.hold(reply.view, reply.version);
    followed.set(sessionId, follower);
    views.set(sessionId, reply.view);
    if (reply.quality) quality.set(sessionId, reply.quality.participants || {});
    for (const alert of reply.alerts || []) alerts.set(alert.id, alert);
    render(sessionId);
    renderAlerts();
  }

  async function refresh() {
    if (stopped || !socket.connected) return;
    let live;
    try {
      const response = await fetch(config.sessions_url, {
        headers: { Authorization: "Bearer " + config.staff_token }, cache: "no-store",
      });
      if (response.status === 401) {
        stop(t("Your login has expired. Log in again to keep monitoring."));
        return;
      }
      if (!response.ok) throw new Error(String(response.status));
      live = await response.json();
    } catch (error) {
      setStatus(t("Could not load the list of sessions; trying again."), "error");
      return;
    }
    const ids = new Set(live.map((s) => s.id));
    for (const section of [...sessionsBox.querySelectorAll(".monitor-session")]) {
      const id = section.dataset.sessionId;
      if (!ids.has(id)) {
        if (views.has(id)) socket.emit("unwatch", { session_id: id });
        forget(id);
      }
    }
    await Promise.all(live.filter((s) => !views.has(s.id)).map((s) => watch(s.id)));
    countSessions();
    if (statusLine.dataset.state !== "error") {
      setStatus(t("Live: updated") + " " + at(new Date().toISOString()), "live");
    }
  }

  function stop(message) {
    stopped = true;
    setStatus(message, "error");
    socket.disconnect();
  }

  socket.on("connect", () => {
    // A new connection watches nothing yet: watch everything again.
    views.clear();
    followed.clear();
    setStatus(t("Connected."), "live");
    refresh();
  });
  socket.on("connect_error", (error) => {
    const reason = error.data ? refusal(error.data) : error.message;
    setStatus(t("Cannot connect for live updates:") + " " + reason, "error");
  });
  socket.on("disconnect", (reason) => {
    if (stopped) return;
    setStatus(t("Connection lost; reconnecting…"), "error");
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 3000);
  });
  socket.on("goodbye", (message) => setStatus(inLanguage(message.message), "error"));
  socket.on("session_event", (message) => {
    const follower = followed.get(message.session_id);
    if (!views.has(message.session_id) || !follower || !follower.follow(message)) return;
    views.set(message.session_id, follower.view);
    render(message.session_id);
  });
  socket.on("quality", (message) => {
    if (!views.has(message.session_id)) return;
    quality.set(message.session_id, message.participants || {});
    render(message.session_id);
  });
  socket.on("alert", (alert) => {
    alerts.set(alert.id, alert);
    renderAlerts();
  });

  setStatus(t("Connecting…"), "loading");
  setInterval(refresh, config.refresh_seconds * 1000);
})();

// Text in the page's language. Message ids are English; the page puts the Vietnamese
// translations the scripts use in window.I18N (empty in English). Keep ids literal inside
// t("...") so `make messages` can extract them.

const messages = window.I18N || {};

export const lang = document.documentElement.lang === "en" ? "en" : "vi";

/** Translate `id`, then fill `%(name)s` fields from `values`. */
export function t(id, values) {
  const text = messages[id] || id;
  if (!values) return text;
  return text.replace(/%\((\w+)\)s/g, (field, name) => (name in values ? String(values[name]) : field));
}

/** A server message `{vi, en}` in the page language. */
export function localized(message) {
  if (!message) return "";
  if (typeof message === "string") return message;
  return message[lang] || message.vi || message.en || "";
}

/** A time of day in the court's time zone, e.g. for chat messages. */
export function clockTime(iso, timeZone) {
  const locale = lang === "vi" ? "vi-VN" : "en-GB";
  try {
    return new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", timeZone }).format(new Date(iso));
  } catch {
    return "";
  }
}

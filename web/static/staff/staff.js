// Small enhancements shared by the staff pages; every page also works without them.
(() => {
  "use strict";
  const messages = window.I18N || {};
  const t = (id) => messages[id] || id;

  // A page answering a form (e.g. a fresh join link) gets its own address back, so that
  // reloading it asks the server again instead of sending the form a second time.
  const canonical = document.querySelector("[data-canonical]");
  if (canonical && canonical.dataset.canonical !== location.pathname) {
    history.replaceState(null, "", canonical.dataset.canonical + location.hash);
  }

  // A refusal or a fresh link takes the keyboard focus, so screen readers read it first.
  const focusTarget = document.querySelector("[data-focus]");
  if (focusTarget) focusTarget.focus();

  // Copy buttons: data-copy names the input holding the text.
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copy);
      const status = button.closest("section")?.querySelector(".copy-status");
      try {
        await navigator.clipboard.writeText(input.value);
        if (status) status.textContent = t("Copied to the clipboard.");
      } catch (error) {
        input.select();
        if (status) status.textContent = t("Copying is not allowed here: the link is selected, press Ctrl+C.");
      }
    });
  }

  // A print button prints the page (the invitation sheets have their own print styles).
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }

  // Forms that undo something ask first.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
})();

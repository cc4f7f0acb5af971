// The login sheet's "Print this sheet" button. A file, not an onclick attribute: the
// Content-Security-Policy (timebank/web/headers.py) allows no inline script.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
});

// Progressive enhancements only: every page works without this file.
document.addEventListener("htmx:afterSwap", function (event) {
  // After a boosted navigation, move focus to the main content for screen readers.
  if (event.detail.boosted) {
    var main = document.getElementById("main");
    if (main) main.focus({ preventScroll: true });
  }
});

// pulse ui: the live part of a page (#live) fetched again every 1.5 s while it says
// data-live="1" (a run being staged or delivered, an action running). Everything else on the
// page works without this script.
(function () {
  "use strict";
  // Someone filling in a form of the live part: leave it as it is until they are done.
  function busy(part) {
    var active = document.activeElement;
    return (active && active !== document.body && part.contains(active)) ||
      part.querySelector("input[type=checkbox]:checked") !== null;
  }
  function tick() {
    var current = document.getElementById("live");
    if (!current || current.getAttribute("data-live") !== "1") return;
    fetch(current.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (response) {
        // The cookie is gone (another dashboard's, an expired session): show why.
        if (response.status === 401) location.reload();
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html && !busy(current)) {
          var holder = document.createElement("template");
          holder.innerHTML = html.trim();
          var next = holder.content.firstElementChild;
          if (next && next.id === "live") current.replaceWith(next);
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(tick, 1500); });
  }
  setTimeout(tick, 1500);
})();

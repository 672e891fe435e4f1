// Progressive enhancements only: every page works without this file.
document.documentElement.classList.add("js");

// On a phone the navigation hides behind a menu button (without this script it
// stays open, as on a desktop).
document.addEventListener("click", function (event) {
  var toggle = event.target.closest && event.target.closest("[data-menu-toggle]");
  if (!toggle) return;
  var nav = document.getElementById(toggle.getAttribute("aria-controls"));
  var open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", String(open));
  if (nav) nav.classList.toggle("open", open);
});
document.addEventListener("htmx:afterSwap", function (event) {
  // After a boosted navigation, move focus to the main content for screen readers.
  if (event.detail.boosted) {
    var main = document.getElementById("main");
    if (main) main.focus({ preventScroll: true });
  }
});

// Line editor (quotes, interventions): add, move and remove rows, and keep each
// row's total from the server's running totals. Without this script the editor
// offers one blank row and totals appear once saved.
function lineRowsOf(fieldset) { return fieldset.querySelectorAll("[data-line-row]"); }
function linesChanged(fieldset) {
  // Labels name each row's place ("Description 2"): renumbered after a move.
  lineRowsOf(fieldset).forEach(function (row, i) {
    row.querySelectorAll("input[data-label], select[data-label], button[data-label]").forEach(function (el) {
      el.setAttribute("aria-label", el.dataset.label + " " + (i + 1));
    });
  });
  if (window.htmx) window.htmx.trigger(fieldset, "lines-changed");
}
function enableLineEditors(root) {
  root.querySelectorAll("[data-add-line]").forEach(function (button) {
    if (button.dataset.ready) return;
    button.dataset.ready = "1";
    button.hidden = false;
    var fieldset = button.closest("fieldset");
    if (!fieldset) return;
    fieldset.querySelectorAll("[data-line-tools]").forEach(function (cell) { cell.hidden = false; });
    button.addEventListener("click", function () {
      var rows = fieldset.querySelector("[data-line-rows]");
      var last = rows.querySelector("[data-line-row]:last-child");
      if (!last) return;
      var copy = last.cloneNode(true);
      copy.classList.remove("has-error");
      copy.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      copy.querySelectorAll("input").forEach(function (input) {
        if (input.name === "description" || input.name === "unit_price" || input.name === "unit") input.value = "";
      });
      copy.querySelector("[data-line-total]").textContent = "";
      rows.appendChild(copy);
      if (window.htmx) window.htmx.process(copy);
      linesChanged(fieldset);
      var first = copy.querySelector("input[name=description]");
      if (first) first.focus();
    });
  });
}
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-line-action]");
  if (!button) return;
  var row = button.closest("[data-line-row]");
  var fieldset = button.closest("fieldset");
  if (!row || !fieldset) return;
  var action = button.dataset.lineAction;
  if (action === "up" && row.previousElementSibling) {
    row.parentNode.insertBefore(row, row.previousElementSibling);
  } else if (action === "down" && row.nextElementSibling) {
    row.parentNode.insertBefore(row.nextElementSibling, row);
  } else if (action === "remove") {
    var next = row.nextElementSibling || row.previousElementSibling;
    if (next) {
      row.remove();
      button = next.querySelector("input[name=description]");
    } else {
      // The last row left is emptied rather than removed: a blank row is ignored.
      row.querySelectorAll("input[name=description], input[name=unit_price], input[name=unit]").forEach(function (input) { input.value = ""; });
      button = row.querySelector("input[name=description]");
    }
  } else {
    return;
  }
  linesChanged(fieldset);
  if (button) button.focus();
});
// A description chosen from the catalogue's suggestions fills its row (kind,
// unit, price, VAT) unless a price is already typed.
document.addEventListener("input", function (event) {
  var input = event.target;
  if (input.name !== "description" || !input.list) return;
  var chosen = Array.prototype.find.call(input.list.options, function (o) { return o.value === input.value; });
  var row = input.closest("[data-line-row]");
  if (!chosen || !row) return;
  var price = row.querySelector("input[name=unit_price]");
  if (!price || price.value.trim() !== "") return;
  price.value = chosen.dataset.price;
  row.querySelector("input[name=unit]").value = chosen.dataset.unit;
  row.querySelector("input[name=vat_rate]").value = chosen.dataset.vat;
  row.querySelector("select[name=kind]").value = chosen.dataset.kind;
  linesChanged(input.closest("fieldset"));
});
// The editor's fragments (totals, suggestions) are never replaced by an error
// page (a session that ended, a refused token): they stay as they were.
document.addEventListener("htmx:beforeSwap", function (event) {
  var target = event.detail.target;
  if (event.detail.xhr.status >= 400 && target && (target.id === "running-totals" || target.id === "catalogue-options")) {
    event.detail.shouldSwap = false;
  }
});
document.addEventListener("htmx:afterSettle", function (event) {
  var path = event.detail.pathInfo && event.detail.pathInfo.requestPath;
  if (!path || path.indexOf("/workshop/lines/preview") !== 0) return;
  var totals = document.querySelectorAll("[data-line-totals] li");
  document.querySelectorAll(".lines-editor").forEach(function (fieldset) {
    lineRowsOf(fieldset).forEach(function (row, i) {
      var cell = row.querySelector("[data-line-total]");
      if (cell) cell.textContent = totals[i] ? totals[i].textContent : "";
    });
  });
});
document.addEventListener("DOMContentLoaded", function () { enableLineEditors(document); });
document.addEventListener("htmx:afterSettle", function (event) { enableLineEditors(event.target); });

// Share links: selecting the field selects the whole link, ready to copy.
document.addEventListener("focusin", function (event) {
  if (event.target.classList && event.target.classList.contains("share-link")) event.target.select();
});

// The bell: its unread count, kept live by Server-Sent Events (the server sends
// the count at once, then whenever a notification arrives or is read). The count
// is the link's visible text after its hidden name: read "Notifications 3".
(function () {
  if (!window.EventSource || !document.querySelector("[data-bell]")) return;
  var unread = 0;
  function paint() {
    var count = document.querySelector("[data-bell-count]");
    if (!count) return;
    count.textContent = unread > 99 ? "99+" : String(unread);
    count.hidden = unread === 0;
  }
  var source = new EventSource("/notifications/stream");
  source.addEventListener("unread", function (event) {
    try { unread = JSON.parse(event.data).unread || 0; } catch (e) { return; }
    paint();
  });
  document.addEventListener("htmx:afterSwap", paint);
})();

// Copy buttons: `data-copy` names the field to copy; the button then says so.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy]");
  if (!button) return;
  var field = document.getElementById(button.dataset.copy);
  if (!field) return;
  function done() { button.textContent = button.dataset.copied; }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
  } else {
    field.select();
    try { if (document.execCommand("copy")) done(); } catch (e) { /* selected: the person copies it */ }
  }
});

// "Select all" boxes: `data-select-all` names the form whose row boxes it ticks.
document.addEventListener("change", function (event) {
  var all = event.target;
  if (!all.dataset || !all.dataset.selectAll) return;
  var boxes = document.querySelectorAll('input[type="checkbox"][form="' + all.dataset.selectAll + '"]');
  for (var i = 0; i < boxes.length; i++) boxes[i].checked = all.checked;
});

// A file field with a size limit (a logo): a file too heavy is refused at once,
// in words beside the field, instead of being sent to end on an error page.
document.addEventListener("change", function (event) {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.dataset.maxBytes) return;
  const file = input.files && input.files[0];
  const tooLarge = Boolean(file) && file.size > Number(input.dataset.maxBytes);
  const message = document.getElementById(input.id + "-error");
  input.setCustomValidity(tooLarge ? input.dataset.tooLarge : "");
  if (message) {
    message.textContent = tooLarge ? input.dataset.tooLarge : "";
    message.hidden = !tooLarge;
  }
  if (tooLarge) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", input.id + "-error");
  } else {
    input.removeAttribute("aria-invalid");
  }
});

// A form whose file field refused its file is not sent (forms here are
// `novalidate`: their other fields are checked by the server).
document.addEventListener("submit", function (event) {
  const refused = event.target.querySelector("input[type=file][data-max-bytes][aria-invalid=true]");
  if (refused && refused.validationMessage) {
    event.preventDefault();
    refused.focus();
  }
}, true);

// A sign-in form is sent once: a second tap while the first sending is on its way
// would spend the pending sign-in (or the code) and come back refused. The page
// shown again from the history may send it anew.
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (event.defaultPrevented || !form.hasAttribute || !form.hasAttribute("data-submit-once")) return;
  if (form.dataset.sent) {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
});
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) { delete form.dataset.sent; });
});

// Uploads: files dropped on the zone join the chooser, the count of files chosen
// is said, and the upload's progress shown (htmx sends the boosted form).
(function () {
  function chosenCount(form) {
    var n = 0;
    form.querySelectorAll("input[type=file]").forEach(function (input) { n += input.files ? input.files.length : 0; });
    var out = form.querySelector("[data-chosen]");
    if (out) out.textContent = n ? out.getAttribute("data-template").replace("{n}", n) : "";
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-upload]");
    if (form && event.target.type === "file") chosenCount(form);
  });
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var zone = event.target.closest && event.target.closest("[data-drop-zone]");
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop-zone]");
    if (zone) zone.classList.remove("dragging");
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-drop-zone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    var input = zone.querySelector("input[type=file][multiple]");
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      chosenCount(zone.closest("form"));
    }
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("form[data-upload]");
    var bar = form && form.querySelector("[data-progress]");
    if (!bar || !event.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });
})();

// Check-in: tapping a zone of the car's outline ticks its box (and the box
// colours the zone); the customer signs with a finger or a mouse on the canvas,
// whose drawing is sent as a PNG. Without this script the boxes still work, but
// nobody can sign: the form says so.
(function () {
  function paintZones(form) {
    form.querySelectorAll("input[name=damage]").forEach(function (box) {
      var zone = form.querySelector('[data-zone="' + box.value + '"]');
      if (zone) zone.classList.toggle("damaged", box.checked);
    });
  }
  document.addEventListener("click", function (event) {
    var zone = event.target.closest && event.target.closest("[data-zone]");
    var form = zone && zone.closest("form[data-checkin]");
    if (!form) return;
    var box = form.querySelector('input[name=damage][value="' + zone.getAttribute("data-zone") + '"]');
    if (box) { box.checked = !box.checked; paintZones(form); }
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-checkin]");
    if (form && event.target.name === "damage") paintZones(form);
  });
  function enableSignature(root) {
    root.querySelectorAll("canvas[data-signature-pad]").forEach(function (canvas) {
      if (canvas.dataset.ready) return;
      canvas.dataset.ready = "1";
      var form = canvas.closest("form");
      var value = form.querySelector("[data-signature-value]");
      var ctx = canvas.getContext("2d");
      var drawing = false, drawn = false;
      ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
      function at(event) {
        var box = canvas.getBoundingClientRect();
        return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
      }
      canvas.addEventListener("pointerdown", function (event) {
        drawing = true; canvas.setPointerCapture(event.pointerId);
        var p = at(event); ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(p[0] + 0.1, p[1] + 0.1); ctx.stroke();
        drawn = true; event.preventDefault();
      });
      canvas.addEventListener("pointermove", function (event) {
        if (!drawing) return;
        var p = at(event); ctx.lineTo(p[0], p[1]); ctx.stroke(); event.preventDefault();
      });
      ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
        canvas.addEventListener(name, function () {
          if (drawing) { drawing = false; value.value = canvas.toDataURL("image/png"); }
        });
      });
      var clear = form.querySelector("[data-signature-clear]");
      if (clear) clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height); drawn = false; value.value = "";
      });
      form.addEventListener("submit", function () { if (drawn) value.value = canvas.toDataURL("image/png"); });
      // A form sent back (a field to correct) keeps the signature already drawn.
      if (value.value) {
        var previous = new Image();
        previous.onload = function () { ctx.drawImage(previous, 0, 0, canvas.width, canvas.height); drawn = true; };
        previous.src = value.value;
      }
      paintZones(form);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enableSignature(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enableSignature(event.target); });
})();

// Installable app (sw.js): the working day's pages are saved on the device and
// shown offline as the copy they are, with the time they were saved (the note is
// written into the page by the server when it makes the page; the worker shows
// it on a copy). A page from the server says when the browser goes offline.
(function () {
  function showOffline() {
    var copy = document.querySelector('[data-offline-note="copy"]');
    var live = document.querySelector('[data-offline-note="live"]');
    if (live) live.hidden = navigator.onLine || Boolean(copy && !copy.hidden);
  }
  window.addEventListener("online", showOffline);
  window.addEventListener("offline", showOffline);
  document.addEventListener("DOMContentLoaded", showOffline);
  document.addEventListener("htmx:afterSettle", showOffline);
  // A form sent without a connection: said at once, what was typed kept on the page.
  document.addEventListener("htmx:sendError", function () {
    var failed = document.querySelector("[data-send-failed]");
    if (!failed) return;
    failed.hidden = false;
    failed.scrollIntoView({ block: "nearest" });
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var failed = document.querySelector("[data-send-failed]");
    if (failed) failed.hidden = true;
  });
  if (!("serviceWorker" in navigator)) return;
  var PERSON = "volant-person";
  function person() {
    var meta = document.querySelector('meta[name="volant-person"]');
    return meta ? meta.content : null;
  }
  // Nothing of a person stays once they are gone: the sign-in page (where sign-out
  // and every ended session lead) and another person's page empty the saved pages.
  function forgetSaved() {
    if (navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage({ type: "forget" });
    if (window.caches) window.caches.delete("volant-pages");
    try { window.localStorage.removeItem(PERSON); } catch (e) { /* storage refused: nothing kept either */ }
  }
  function atSignIn() { return window.location.pathname === "/login"; }
  // The page itself (its first visit came before the worker) and the lessons a
  // planning links to, saved ahead so that each opens offline.
  function saveAhead() {
    if (!navigator.onLine || !person()) return;
    var urls = [window.location.pathname + window.location.search];
    document.querySelectorAll("main a[href^='/school/lessons/']").forEach(function (a) {
      var href = a.getAttribute("href");
      if (/^\/school\/lessons\/\d+$/.test(href) && urls.indexOf(href) < 0) urls.push(href);
    });
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) registration.active.postMessage({ type: "save", urls: urls });
    });
  }
  window.addEventListener("load", function () {
    if (atSignIn()) { forgetSaved(); return; }
    var me = person();
    if (!me) return;
    var before = null;
    try { before = window.localStorage.getItem(PERSON); } catch (e) { before = null; }
    if (before && before !== me) forgetSaved();
    try { window.localStorage.setItem(PERSON, me); } catch (e) { /* no storage: copies are still emptied at sign-in */ }
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(saveAhead, function () {});
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (atSignIn()) forgetSaved(); else saveAhead();
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[action='/logout']")) forgetSaved();
  }, true);
})();

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
    // Nor do their notifications: this browser's push subscription ends (the
    // server forgets the device when its push service next says it is gone).
    navigator.serviceWorker.getRegistration("/").then(function (registration) {
      return registration && registration.pushManager && registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (subscription) return subscription.unsubscribe();
    }).catch(function () { /* nothing subscribed */ });
    try { window.localStorage.removeItem(PERSON); } catch (e) { /* storage refused: nothing kept either */ }
  }
  function atSignIn() { return window.location.pathname === "/login"; }
  // The page itself (its first visit came before the worker) and the pages a
  // working day's list links to (a planning's lessons, the workshop's
  // interventions and vehicles), saved ahead so that each opens offline.
  var AHEAD = {
    "/school/planning": /^\/school\/lessons\/\d+$/,
    "/interventions": /^\/(interventions\/\d+|vehicles\/\d+\/maintenance)$/,
  };
  function saveAhead() {
    if (!navigator.onLine || !person()) return;
    var urls = [window.location.pathname + window.location.search];
    var linked = AHEAD[window.location.pathname];
    if (linked) document.querySelectorAll("main a[href]").forEach(function (a) {
      var href = a.getAttribute("href");
      if (linked.test(href) && urls.indexOf(href) < 0) urls.push(href);
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

// Writing without a connection (docs/mobile.md): a form marked
// `data-offline-queue` (a lesson report, a mileage reading, the end of an
// intervention) sent while offline, or whose sending fails for want of a
// connection, is kept on the phone (IndexedDB) with a key of its own, and sent
// again when the connection is back, with that key in `Idempotency-Key`: the
// server applies it once however often it arrives. What the server refuses (the
// lesson was moved or cancelled meanwhile, a higher mileage was recorded) stays
// listed with its answer and what was typed until the person removes it.
(function () {
  if (!window.indexedDB || !window.fetch) return;
  var STORE = "outbox";
  // A recorded form is listed on the page where it went, and gone from the next.
  var pageOpened = Date.now();
  var flushing = false;
  var retry = null;

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  function person() {
    var meta = document.querySelector('meta[name="volant-person"]');
    return meta ? meta.content : null;
  }
  // The token of this page (the session's): a form queued under an earlier page
  // of the same session is sent with it.
  function csrfToken() {
    var field = document.querySelector("form[action='/logout'] input[name=_csrf]");
    return field ? field.value : "";
  }
  function store(mode, work) {
    return new Promise(function (resolve, reject) {
      var opening = window.indexedDB.open("volant", 1);
      opening.onupgradeneeded = function () { opening.result.createObjectStore(STORE, { keyPath: "key" }); };
      opening.onerror = function () { reject(opening.error); };
      opening.onsuccess = function () {
        var db = opening.result;
        var tx = db.transaction(STORE, mode);
        var request = work(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      };
    });
  }
  function entries() { return store("readonly", function (s) { return s.getAll(); }); }
  function find(key) { return store("readonly", function (s) { return s.get(key); }); }
  function save(entry) { return store("readwrite", function (s) { return s.put(entry); }); }
  function remove(key) { return store("readwrite", function (s) { return s.delete(key); }); }
  function mine(list) {
    var me = person();
    return list.filter(function (e) { return e.person === me; }).sort(function (a, b) { return a.queuedAt - b.queuedAt; });
  }
  function offline() {
    var copy = document.querySelector('[data-offline-note="copy"]');
    return !navigator.onLine || Boolean(copy && !copy.hidden);
  }
  function queueable(form) { return form && form.matches && form.matches("form[data-offline-queue]"); }

  function render() {
    var box = document.querySelector("[data-outbox]");
    if (!box) return Promise.resolve();
    return entries().then(function (list) {
      var stale = list.filter(function (e) { return e.state === "sent" && e.sentAt < pageOpened; });
      stale.forEach(function (e) { remove(e.key).catch(function () {}); });
      list = mine(list).filter(function (e) { return stale.indexOf(e) < 0; });
      var ul = box.querySelector("[data-outbox-list]");
      ul.textContent = "";
      list.forEach(function (e) {
        var li = document.createElement("li");
        li.className = "outbox-" + e.state;
        li.dataset.outboxEntry = e.state;
        var what = document.createElement("strong");
        what.textContent = e.label;
        li.appendChild(what);
        var state = document.createElement("span");
        state.textContent = " — " + box.dataset[e.state === "refused" ? "refused" : e.state === "sent" ? "sent" : "pending"];
        li.appendChild(state);
        if (e.state === "refused") {
          var answer = document.createElement("span");
          answer.className = "outbox-answer";
          answer.textContent = " " + (e.message || "");
          li.appendChild(answer);
          if (e.typed) {
            var typed = document.createElement("span");
            typed.className = "pre outbox-typed";
            typed.textContent = " " + box.dataset.typed + " " + e.typed;
            li.appendChild(typed);
          }
        }
        if (e.state !== "pending") {
          var dismiss = document.createElement("button");
          dismiss.type = "button";
          dismiss.className = "button small";
          dismiss.textContent = box.dataset.dismiss;
          dismiss.addEventListener("click", function () { remove(e.key).then(render); });
          li.appendChild(document.createTextNode(" "));
          li.appendChild(dismiss);
        }
        ul.appendChild(li);
      });
      box.querySelector("[data-outbox-sign-in]").hidden = !list.some(function (e) { return e.state === "pending" && e.signIn; });
      box.hidden = list.length === 0;
      // A form already waiting on this phone is not filled in twice.
      document.querySelectorAll("form[data-offline-queue]").forEach(function (form) {
        var waiting = list.some(function (e) { return e.state === "pending" && e.action === form.getAttribute("action"); });
        var note = form.querySelector("[data-queued-here]");
        if (waiting && !note) {
          note = document.createElement("p");
          note.className = "flash flash-warning";
          note.setAttribute("role", "status");
          note.dataset.queuedHere = "";
          note.textContent = box.dataset.queuedHere;
          form.insertBefore(note, form.firstChild);
        } else if (!waiting && note) {
          note.remove();
        }
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = waiting; });
      });
    });
  }

  // Kept with the form's key while it waits (a second tap is the same form); a
  // form answered already goes again under a new key.
  function queue(form) {
    var key = form.dataset.idempotencyKey;
    return (key ? find(key) : Promise.resolve(null)).then(function (before) {
      if (!key || (before && before.state !== "pending")) key = form.dataset.idempotencyKey = newKey();
      return keep(form, key);
    }).catch(function () {
      // The phone would not keep it (storage refused or full): said, and typed text left in place.
      var failed = document.querySelector("[data-send-failed]");
      if (failed) failed.hidden = false;
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    });
  }

  function keep(form, key) {
    var fields = new URLSearchParams();
    var typed = [];
    new FormData(form).forEach(function (value, name) {
      if (name === "_csrf" || typeof value !== "string") return;
      fields.append(name, value);
    });
    form.querySelectorAll("textarea").forEach(function (area) { if (area.value.trim()) typed.push(area.value); });
    var label = form.dataset.offlineQueue;
    var detail = form.dataset.offlineDetail && form.elements[form.dataset.offlineDetail];
    if (detail && detail.value) label += " " + detail.value;
    var entry = {
      key: key,
      person: person(),
      action: form.getAttribute("action"),
      body: fields.toString(),
      label: label,
      typed: typed.join("\n"),
      queuedAt: Date.now(),
      state: "pending",
    };
    return save(entry).then(render).then(function () {
      var box = document.querySelector("[data-outbox]");
      if (box) box.scrollIntoView({ block: "nearest" });
      later();
    });
  }

  // What the server said, from the page it answered with.
  function answerOf(response) {
    return response.text().then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var parts = [];
      // An error page's detail (its title when it has none), a form's errors.
      var detail = doc.querySelector("main .error-page h1 + p");
      var title = doc.querySelector("main .error-page h1");
      var error = (detail && detail.textContent.trim()) || (title && title.textContent.trim());
      if (error) parts.push(error);
      doc.querySelectorAll("main form .flash-error, main .field-error").forEach(function (el) {
        var text = el.textContent.trim();
        if (text && parts.indexOf(text) < 0) parts.push(text);
      });
      return parts.join(" ") || response.status + " " + response.statusText;
    });
  }

  // The session's token from a page fetched now: this page may be a copy made
  // under an earlier session.
  function freshToken() {
    return fetch("/profile", { credentials: "same-origin" }).then(function (response) {
      if (new URL(response.url).pathname === "/login") return "";
      return response.text().then(function (html) {
        var field = new DOMParser().parseFromString(html, "text/html").querySelector("form[action='/logout'] input[name=_csrf]");
        return field ? field.value : "";
      });
    });
  }

  function post(entry, token) {
    return fetch(entry.action, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
        "Idempotency-Key": entry.key,
        "X-CSRF-Token": token,
      },
      body: entry.body,
    });
  }

  // Sends one entry; resolves to whether the next may be sent now.
  function send(entry) {
    return post(entry, csrfToken()).then(function (response) {
      // Refused as from another session's page: once more with this session's token.
      if (response.status !== 403) return response;
      return freshToken().then(function (token) { return token ? post(entry, token) : response; });
    }).then(function (response) {
      if (new URL(response.url).pathname === "/login" || response.status === 401) {
        entry.signIn = true;
        return save(entry).then(function () { return false; });
      }
      if (response.ok) {
        entry.state = "sent";
        entry.sentAt = Date.now();
        delete entry.signIn;
        return save(entry).then(function () { return true; });
      }
      // Busy with the same key, a server in trouble: the next round.
      if (response.status >= 500 || response.status === 408 || response.status === 429 || response.headers.get("Retry-After")) {
        return false;
      }
      return answerOf(response).then(function (message) {
        entry.state = "refused";
        entry.message = message;
        delete entry.signIn;
        return save(entry).then(function () { return true; });
      });
    }, function () { return false; });
  }

  function flushNow() {
    if (flushing || !navigator.onLine || !person()) return Promise.resolve();
    flushing = true;
    return entries().then(function (list) {
      var pending = mine(list).filter(function (e) { return e.state === "pending"; });
      return pending.reduce(function (chain, entry) {
        return chain.then(function (go) { return go ? send(entry) : false; });
      }, Promise.resolve(true));
    }).catch(function () { /* kept for the next round */ }).then(function () {
      flushing = false;
      return render();
    }).then(later);
  }
  // One tab at a time sends (two tabs would only wait on each other's key).
  function flush() {
    if (navigator.locks) return navigator.locks.request("volant-outbox", flushNow);
    return flushNow();
  }
  // While something waits, tried again every half minute (a phone between masts
  // may believe it is online).
  function later() {
    if (retry) return;
    entries().then(function (list) {
      if (!mine(list).some(function (e) { return e.state === "pending"; })) return;
      retry = setTimeout(function () { retry = null; flush(); }, 30000);
    }).catch(function () {});
  }

  // Offline: kept, not sent (htmx would fail), before htmx sees the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!queueable(form) || !offline() || !person()) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    if (!form.dataset.idempotencyKey) form.dataset.idempotencyKey = newKey();
    queue(form);
  }, true);
  // Online: sent as usual, with a key, so that a failure sent again from the
  // queue is the same request.
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!queueable(form)) return;
    if (!form.dataset.idempotencyKey) form.dataset.idempotencyKey = newKey();
    event.detail.headers["Idempotency-Key"] = form.dataset.idempotencyKey;
  });
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.detail.elt;
    if (!queueable(form) || !person()) return;
    var failed = document.querySelector("[data-send-failed]");
    if (failed) failed.hidden = true;
    queue(form);
  });
  window.addEventListener("online", flush);
  document.addEventListener("DOMContentLoaded", function () { render().then(flush).catch(function () {}); });
  // A boosted link is a page too: it shows the outbox as a new page does, and sends.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.boosted) pageOpened = Date.now();
    render().then(flush).catch(function () {});
  });
})();

// Notifications on this device (Web Push): the preferences page offers to
// subscribe this browser; its subscription goes to the server, which encrypts
// each notification for it (docs/mobile.md). Every way it cannot is said.
(function () {
  var section = document.querySelector("[data-push-key]");
  if (!section) return;
  var button = section.querySelector("[data-push-subscribe]");
  function say(state) {
    section.querySelectorAll("[data-push-state]").forEach(function (p) { p.hidden = p.dataset.pushState !== state; });
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window) || !window.isSecureContext) {
    say("unsupported");
    return;
  }
  if (Notification.permission === "denied") say("denied");
  button.hidden = false;
  function key(text) {
    var padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }
  function deviceName() {
    var ua = navigator.userAgent;
    var system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows" : /Mac OS/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
    var browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "";
    return [system, browser].filter(Boolean).join(" · ");
  }
  button.addEventListener("click", function () {
    button.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error("denied");
      return navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () { return navigator.serviceWorker.ready; });
    }).then(function (registration) {
      return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key(section.dataset.pushKey) });
    }).then(function (subscription) {
      var json = subscription.toJSON();
      var token = document.querySelector("form[action='/logout'] input[name=_csrf]");
      var body = new URLSearchParams({ endpoint: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth, device: deviceName() });
      return fetch("/notifications/push", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8", "X-CSRF-Token": token ? token.value : "" },
        body: body,
      });
    }).then(function (response) {
      if (!response.ok) throw new Error("refused");
      say("subscribed");
      window.location.reload();
    }).catch(function (error) {
      say(error && error.message === "denied" ? "denied" : "failed");
    }).then(function () { button.disabled = false; });
  });
})();

// The worldwide view refreshes its figures from GET /network without reloading the page.
// Plain JavaScript, shipped with the node: no framework, no CDN. Without JavaScript the
// page still shows the figures as of the moment it was served.
(function () {
  "use strict";
  var root = document.getElementById("network");
  if (!root || !window.fetch) return;
  var source = root.getAttribute("data-source");
  var every = Number(root.getAttribute("data-refresh-ms")) || 5000;
  var live = root.querySelector("[data-live]");
  // Only problems are announced to screen readers (role=status); the routine "updated"
  // line changes every few seconds and is not a live region.
  var problem = root.querySelector("[data-problem]");
  var HEALTH = ["self", "in-sync", "catching-up", "diverged", "alarm", "unreachable", "unknown", "inactive"];

  function set(scope, field, value) {
    var nodes = scope.querySelectorAll('[data-field="' + field + '"]');
    for (var i = 0; i < nodes.length; i++) {
      // Links and times inside a cell keep their element: only their text changes.
      var target = nodes[i].querySelector("a, time") || nodes[i];
      if (target.textContent !== String(value)) target.textContent = String(value);
    }
  }

  function show(n, value) { return value === null || value === undefined ? n : value; }

  function ago(seconds) {  // the same wording as the server's first rendering
    if (seconds === null || seconds === undefined) return "never";
    var units = [["d", 86400], ["h", 3600], ["min", 60]];
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1]) return Math.floor(seconds / units[i][1]) + " " + units[i][0] + " ago";
    }
    return seconds < 2 ? "just now" : Math.floor(seconds) + " s ago";
  }

  function healthClass(el, prefix, health) {
    HEALTH.forEach(function (h) { el.classList.remove(prefix + h); });
    el.classList.add(prefix + health);
  }

  function update(view) {
    root.querySelectorAll("[data-total]").forEach(function (el) {
      el.textContent = String(view[el.getAttribute("data-total")]);
    });
    view.regions.forEach(function (r) {
      root.querySelectorAll('[data-region="' + r.region + '"]').forEach(function (scope) {
        set(scope, "members", r.members);
        set(scope, "events", r.events);
      });
    });
    view.nodes.forEach(function (n) {
      var row = root.querySelector('tr[data-node="' + n.node_id + '"]');
      if (row) {
        set(row, "health", n.health);
        healthClass(row.querySelector('[data-field="health"]'), "h-text-", n.health);
        set(row, "last_contact", n.serving ? "now" : ago(n.seconds_since_contact));
        var when = row.querySelector('[data-field="last_contact"] time');
        if (when && n.last_contact) when.setAttribute("datetime", n.last_contact);
        set(row, "behind", show("?", n.behind));
        set(row, "ahead", show("?", n.ahead));
        set(row, "agrees", n.agrees === null ? "unknown" : (n.agrees ? "agree" : "differ"));
        set(row, "quarantined", n.quarantined);
        set(row, "alarms", n.alarms);
      }
      var dot = root.querySelector('circle[data-node="' + n.node_id + '"]');
      if (dot) {
        healthClass(dot, "h-", n.health);
        var title = dot.querySelector("title");
        if (title) title.textContent = n.name + ": " + n.health;
      }
    });
    live.textContent = "Live: updated " + new Date().toLocaleTimeString() +
      " (figures as of " + view.generated_at + ").";
    if (problem.textContent) problem.textContent = "";
    root.setAttribute("data-updated", view.generated_at);
  }

  function tick() {
    // A hidden tab does not poll; it catches up as soon as it is shown again.
    if (document.visibilityState === "hidden") { setTimeout(tick, every); return; }
    fetch(source, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(update)
      .catch(function (e) { problem.textContent = "Could not refresh (" + e.message + "); retrying."; })
      .then(function () { setTimeout(tick, every); });
  }

  setTimeout(tick, 0);
})();

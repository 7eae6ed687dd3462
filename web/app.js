/* tlsgate console — talks only to the admin JSON API (web/API.md).
 *
 * No framework, no build step. Everything that comes from the server
 * (domain names, errors, issuers, notes of relay networks and policies,
 * queued addresses and reasons, the organisations of TLS reports) is put
 * in the page with textContent or attribute properties, never parsed as
 * HTML. The page runs under a CSP without 'unsafe-inline': no inline
 * handlers, no style attributes. */
"use strict";

(function () {
  var csrf = "";
  var retryTimer = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function setError(id, msg) {
    var e = $(id);
    e.textContent = msg || "";
    e.hidden = !msg;
  }

  /* A result that is not an error; kind "ok", "warn" or "" (plain). */
  function setStatus(id, msg, kind) {
    var e = $(id);
    e.textContent = msg || "";
    e.className = "status" + (kind ? " " + kind : "");
    e.hidden = !msg;
  }

  /* ---- the API ---- */

  /* One call; resolves to {status, data} (data: the parsed JSON body or
   * null). A 401 outside the login call means the session is gone: back
   * to the login screen. */
  function api(method, path, body) {
    var opts = {
      method: method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Accept": "application/json" }
    };
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRF-Token"] = csrf;
      opts.body = JSON.stringify(body === undefined ? {} : body);
    }
    return fetch(path, opts).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        if (t) {
          try { data = JSON.parse(t); } catch (e) { data = null; }
        }
        var res = { status: r.status, data: data,
          retryAfter: r.headers.get("Retry-After") };
        /* Not for the login itself (a wrong password) nor for the
         * session probe at start (no session yet is no news). */
        if (r.status === 401 && path !== "/api/login" &&
            path !== "/api/session") {
          showLogin("Your session has ended; log in again.");
          res.handled = true;
        }
        return res;
      });
    }, function () {
      return { status: 0, data: null,
        networkError: "The server could not be reached." };
    });
  }

  function errorText(res, what) {
    if (res.networkError) return res.networkError;
    if (res.data && typeof res.data.error === "string" && res.data.error)
      return res.data.error;
    return what + " failed (HTTP " + res.status + ").";
  }

  /* ---- screens ---- */

  function show(screen) {
    $("loading").hidden = true;
    $("login-screen").hidden = screen !== "login";
    $("dashboard").hidden = screen !== "dashboard";
    $("whoami").hidden = screen !== "dashboard";
    $("logout").hidden = screen !== "dashboard";
  }

  function showLogin(message) {
    csrf = "";
    $("current-user").textContent = "";
    $("domains-table").tBodies[0].textContent = "";
    $("certs-table").tBodies[0].textContent = "";
    ["relay-table", "policies-table", "queue-outbound-table",
      "queue-inbound-table", "reports-table"]
      .forEach(function (id) { $(id).tBodies[0].textContent = ""; });
    setStatus("queue-status", "");
    show("login");
    document.title = "tlsgate console — sign in";
    $("login-password").value = "";
    setError("login-error", message || "");
    if ($("login-user").value) $("login-password").focus();
    else $("login-user").focus();
  }

  function showDashboard(user) {
    $("current-user").textContent = user;
    setError("domains-error", "");
    setError("certs-error", "");
    setError("add-domain-error", "");
    setError("relay-error", "");
    setError("add-relay-error", "");
    setError("policies-error", "");
    setError("add-policy-error", "");
    setError("queue-error", "");
    setStatus("queue-status", "");
    setError("reports-error", "");
    show("dashboard");
    document.title = "tlsgate console — " + user;
    loadDomains();
    loadCerts();
    loadRelay();
    loadPolicies();
    loadQueue();
    loadReports();
  }

  /* ---- login / logout ---- */

  function startRetryCountdown(seconds, message) {
    var button = $("login-submit");
    var left = Math.max(1, Math.ceil(seconds));
    if (!/[.!?]$/.test(message)) message += ".";
    if (retryTimer) clearInterval(retryTimer);
    button.disabled = true;
    function tick() {
      if (left <= 0) {
        clearInterval(retryTimer);
        retryTimer = null;
        button.disabled = false;
        button.textContent = "Log in";
        setError("login-error", message + " You can try again now.");
        return;
      }
      button.textContent = "Wait " + left + " s";
      setError("login-error", message + " Try again in " + left +
        (left === 1 ? " second." : " seconds."));
      left--;
    }
    tick();
    retryTimer = setInterval(tick, 1000);
  }

  function onLogin(ev) {
    ev.preventDefault();
    var user = $("login-user").value.trim();
    var pass = $("login-password").value;
    if (!user || !pass) {
      setError("login-error", "Enter a username and a password.");
      return;
    }
    setError("login-error", "");
    $("login-submit").disabled = true;
    api("POST", "/api/login", { username: user, password: pass })
      .then(function (res) {
        if (res.status === 200 && res.data && res.data.csrf) {
          $("login-submit").disabled = false;
          csrf = res.data.csrf;
          $("login-password").value = "";
          showDashboard(res.data.user || user);
          return;
        }
        $("login-password").value = "";
        if (res.status === 429) {
          var s = (res.data && Number(res.data.retry_after)) ||
            Number(res.retryAfter) || 1;
          startRetryCountdown(s, errorText(res, "Login"));
          return;
        }
        $("login-submit").disabled = false;
        setError("login-error", errorText(res, "Login"));
        $("login-password").focus();
      });
  }

  function onLogout() {
    $("logout").disabled = true;
    api("POST", "/api/logout").then(function (res) {
      $("logout").disabled = false;
      if (res.handled) return;
      if (res.status === 200) {
        showLogin("You have logged out.");
      } else {
        setError("domains-error", errorText(res, "Log out"));
      }
    });
  }

  /* ---- domains ---- */

  function splitList(s) {
    return s.split(/[\s,]+/).map(function (x) { return x.trim(); })
      .filter(function (x) { return x.length > 0; });
  }

  /* "" → undefined (leave the server's default), else a whole number or
   * NaN for something that is not one. */
  function parseAge(s) {
    s = s.trim();
    if (s === "") return undefined;
    return /^[0-9]+$/.test(s) ? Number(s) : NaN;
  }

  function modeBadge(mode) {
    return el("span", "badge mode-" + (/^[a-z]+$/.test(mode) ? mode : "x"),
      mode || "?");
  }

  function cell(tr, text, cls) {
    var td = el("td", cls, text);
    tr.appendChild(td);
    return td;
  }

  function renderDomains(list) {
    var tbody = $("domains-table").tBodies[0];
    tbody.textContent = "";
    list.forEach(function (d) {
      var tr = el("tr");
      tr.dataset.domain = d.name;
      cell(tr, d.name, "mono name");
      cell(tr, d.route || "—", d.route ? "mono" : "dim");
      tr.appendChild(el("td")).appendChild(modeBadge(d.sts_mode));
      var mx = Array.isArray(d.mx) ? d.mx.join(", ") : "";
      cell(tr, mx || "—", mx ? "mono" : "dim");
      cell(tr, d.max_age === undefined || d.max_age === null ? "—" :
        d.max_age, "num mono");
      cell(tr, d.rua || "—", d.rua ? "mono rua" : "dim");
      var act = cell(tr, "", "actions");
      var edit = el("button", "small sts-edit", "MTA-STS…");
      edit.type = "button";
      edit.title = "Change the MTA-STS policy of " + d.name;
      edit.addEventListener("click", function () { openSts(tr, d); });
      var rm = el("button", "small danger domain-remove", "Remove");
      rm.type = "button";
      rm.title = "Remove " + d.name;
      rm.addEventListener("click", function () { removeDomain(d.name); });
      act.appendChild(edit);
      act.appendChild(rm);
      tbody.appendChild(tr);
    });
    $("domains-count").textContent = "(" + list.length + ")";
    $("domains-empty").hidden = list.length > 0;
  }

  function loadDomains() {
    return api("GET", "/api/domains").then(function (res) {
      if (res.handled) return;
      if (res.status === 200 && Array.isArray(res.data)) {
        setError("domains-error", "");
        renderDomains(res.data);
      } else {
        setError("domains-error", errorText(res, "Loading the domains"));
      }
    });
  }

  function closeSts() {
    var open = document.querySelector("#domains-table .sts-row");
    if (open) open.parentNode.removeChild(open);
    var rows = document.querySelectorAll("#domains-table tr.editing");
    for (var i = 0; i < rows.length; i++) rows[i].classList.remove("editing");
  }

  function openSts(tr, d) {
    var wasOpen = tr.classList.contains("editing");
    closeSts();
    if (wasOpen) return;
    var row = $("sts-template").content.firstElementChild.cloneNode(true);
    row.querySelector(".sts-domain").textContent = d.name;
    tr.classList.add("editing");
    tr.parentNode.insertBefore(row, tr.nextSibling);
    $("sts-mode").value = d.sts_mode || "off";
    $("sts-mx").value = Array.isArray(d.mx) ? d.mx.join(", ") : "";
    $("sts-max-age").value = d.max_age === undefined || d.max_age === null ?
      "" : String(d.max_age);
    setError("sts-error", "");
    $("sts-cancel").addEventListener("click", closeSts);
    row.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") closeSts();
    });
    $("sts-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      submitSts(d.name);
    });
    $("sts-mode").focus();
  }

  function submitSts(name) {
    var body = { mode: $("sts-mode").value };
    var mx = splitList($("sts-mx").value);
    if (mx.length > 0) body.mx = mx;
    var age = parseAge($("sts-max-age").value);
    if (Number.isNaN(age)) {
      setError("sts-error", "max_age is a number of seconds.");
      return;
    }
    if (age !== undefined) body.max_age = age;
    $("sts-submit").disabled = true;
    api("POST", "/api/domains/" + encodeURIComponent(name) + "/sts", body)
      .then(function (res) {
        if (res.handled) return;
        var button = $("sts-submit");
        if (button) button.disabled = false;
        if (res.status === 200) {
          closeSts();
          loadDomains();
        } else {
          setError("sts-error", errorText(res, "The change"));
        }
      });
  }

  function removeDomain(name) {
    if (!window.confirm("Remove the domain " + name + "?\n\nIts route and " +
        "MTA-STS policy are deleted."))
      return;
    setError("domains-error", "");
    api("POST", "/api/domains/" + encodeURIComponent(name) + "/remove")
      .then(function (res) {
        if (res.handled) return;
        if (res.status === 200) {
          loadDomains();
        } else {
          setError("domains-error", errorText(res, "Removing " + name));
          loadDomains();
        }
      });
  }

  function onAddDomain(ev) {
    ev.preventDefault();
    var name = $("add-name").value.trim();
    if (!name) {
      setError("add-domain-error", "Enter the domain name.");
      return;
    }
    var body = { name: name, sts_mode: $("add-mode").value };
    var route = $("add-route").value.trim();
    if (route) body.route = route;
    var mx = splitList($("add-mx").value);
    if (mx.length > 0) body.mx = mx;
    var age = parseAge($("add-max-age").value);
    if (Number.isNaN(age)) {
      setError("add-domain-error", "max_age is a number of seconds.");
      return;
    }
    if (age !== undefined) body.max_age = age;
    var rua = $("add-rua").value.trim();
    if (rua) body.rua = rua;
    setError("add-domain-error", "");
    $("add-submit").disabled = true;
    api("POST", "/api/domains", body).then(function (res) {
      $("add-submit").disabled = false;
      if (res.handled) return;
      if (res.status === 201 || res.status === 200) {
        $("add-domain-form").reset();
        loadDomains();
      } else {
        setError("add-domain-error", errorText(res, "Adding the domain"));
      }
    });
  }

  /* ---- certificates ---- */

  function expiry(iso) {
    var t = Date.parse(iso);
    if (!iso || Number.isNaN(t)) return { text: iso || "—", cls: "dim" };
    var days = Math.floor((t - Date.now()) / 86400000);
    var text = iso.slice(0, 10);
    if (t <= Date.now()) return { text: text + " (expired)", cls: "bad" };
    text += " (" + days + (days === 1 ? " day)" : " days)");
    return { text: text, cls: days < 14 ? "warn" : "" };
  }

  function renderCerts(list) {
    var tbody = $("certs-table").tBodies[0];
    tbody.textContent = "";
    list.forEach(function (c) {
      var tr = el("tr");
      tr.dataset.role = c.role || "";
      cell(tr, c.name, "mono name");
      cell(tr, c.role);
      cell(tr, c.state, "state-" + (/^[a-z]+$/.test(c.state) ? c.state : "x"));
      cell(tr, c.tlsa_state || "—", c.tlsa_state ? "" : "dim");
      var ex = expiry(c.not_after);
      var exTd = cell(tr, ex.text, ex.cls);
      if (c.not_after) exTd.title = c.not_after;
      var iss = cell(tr, c.issuer || "—", "issuer");
      if (c.issuer) iss.title = c.issuer;
      if (c.self_signed) {
        iss.textContent = "";
        iss.appendChild(el("span", "badge self-signed", "self-signed"));
        iss.appendChild(document.createTextNode(" " + (c.issuer || "")));
      }
      var spki = String(c.spki_sha256 || "");
      var sp = cell(tr, spki.length > 16 ? spki.slice(0, 16) + "…" : spki,
        "mono spki");
      sp.title = spki;
      tbody.appendChild(tr);
    });
    $("certs-count").textContent = "(" + list.length + ")";
    $("certs-empty").hidden = list.length > 0;
  }

  function loadCerts() {
    return api("GET", "/api/certificates").then(function (res) {
      if (res.handled) return;
      if (res.status === 200 && Array.isArray(res.data)) {
        setError("certs-error", "");
        renderCerts(res.data);
      } else {
        setError("certs-error", errorText(res, "Loading the certificates"));
      }
    });
  }

  /* ---- relay networks ---- */

  function renderRelay(list) {
    var tbody = $("relay-table").tBodies[0];
    tbody.textContent = "";
    list.forEach(function (n) {
      var tr = el("tr");
      tr.dataset.network = n.network;
      cell(tr, n.network, "mono name");
      cell(tr, n.note || "—", n.note ? "note-text" : "dim");
      cell(tr, n.created || "—", n.created ? "mono time" : "dim");
      var act = cell(tr, "", "actions");
      var deny = el("button", "small danger relay-deny", "Deny");
      deny.type = "button";
      deny.title = "Remove " + n.network + " from the relay networks";
      deny.addEventListener("click", function () { denyRelay(n.network); });
      act.appendChild(deny);
      tbody.appendChild(tr);
    });
    $("relay-count").textContent = "(" + list.length + ")";
    $("relay-table").hidden = list.length === 0;
    $("relay-empty").hidden = list.length > 0;
  }

  function loadRelay() {
    return api("GET", "/api/relay/networks").then(function (res) {
      if (res.handled) return;
      if (res.status === 200 && Array.isArray(res.data)) {
        setError("relay-error", "");
        renderRelay(res.data);
      } else {
        setError("relay-error", errorText(res,
          "Loading the relay networks"));
      }
    });
  }

  function denyRelay(network) {
    if (!window.confirm("Deny the relay network " + network + "?\n\n" +
        "Its clients can no longer send mail through the relay."))
      return;
    setError("relay-error", "");
    api("POST", "/api/relay/networks/remove", { network: network })
      .then(function (res) {
        if (res.handled) return;
        if (res.status !== 200)
          setError("relay-error", errorText(res, "Denying " + network));
        loadRelay();
      });
  }

  function onAddRelay(ev) {
    ev.preventDefault();
    var network = $("add-relay-network").value.trim();
    if (!network) {
      setError("add-relay-error", "Enter a network (10.1.0.0/16) or an " +
        "address.");
      return;
    }
    var body = { network: network };
    var note = $("add-relay-note").value.trim();
    if (note) body.note = note;
    setError("add-relay-error", "");
    $("add-relay-submit").disabled = true;
    api("POST", "/api/relay/networks", body).then(function (res) {
      $("add-relay-submit").disabled = false;
      if (res.handled) return;
      if (res.status === 201 || res.status === 200) {
        $("add-relay-form").reset();
        loadRelay();
      } else {
        setError("add-relay-error", errorText(res,
          "Allowing the network"));
      }
    });
  }

  /* ---- outbound TLS policies ---- */

  function policyBadge(mode) {
    return el("span", "badge pmode-" +
      (/^[a-z-]+$/.test(mode) ? mode : "x"), mode || "?");
  }

  function renderPolicies(list) {
    var tbody = $("policies-table").tBodies[0];
    tbody.textContent = "";
    list.forEach(function (p) {
      var tr = el("tr");
      tr.dataset.domain = p.domain;
      cell(tr, p.domain, "mono name");
      tr.appendChild(el("td")).appendChild(policyBadge(p.mode));
      cell(tr, p.note || "—", p.note ? "note-text" : "dim");
      cell(tr, p.updated || "—", p.updated ? "mono time" : "dim");
      var act = cell(tr, "", "actions");
      var rm = el("button", "small danger policy-remove", "Remove");
      rm.type = "button";
      rm.title = "Remove the policy of " + p.domain;
      rm.addEventListener("click", function () { removePolicy(p.domain); });
      act.appendChild(rm);
      tbody.appendChild(tr);
    });
    $("policies-count").textContent = "(" + list.length + ")";
    $("policies-table").hidden = list.length === 0;
    $("policies-empty").hidden = list.length > 0;
  }

  function loadPolicies() {
    return api("GET", "/api/policies").then(function (res) {
      if (res.handled) return;
      if (res.status === 200 && Array.isArray(res.data)) {
        setError("policies-error", "");
        renderPolicies(res.data);
      } else {
        setError("policies-error", errorText(res, "Loading the policies"));
      }
    });
  }

  function removePolicy(domain) {
    if (!window.confirm("Remove the TLS policy of " + domain + "?\n\n" +
        "Mail to it is then sent with STARTTLS when offered (may)."))
      return;
    setError("policies-error", "");
    api("POST", "/api/policies/" + encodeURIComponent(domain) + "/remove")
      .then(function (res) {
        if (res.handled) return;
        if (res.status !== 200)
          setError("policies-error", errorText(res, "Removing the policy " +
            "of " + domain));
        loadPolicies();
      });
  }

  function onSetPolicy(ev) {
    ev.preventDefault();
    var domain = $("add-policy-domain").value.trim();
    if (!domain) {
      setError("add-policy-error", "Enter the destination domain.");
      return;
    }
    var body = { domain: domain, mode: $("add-policy-mode").value };
    var note = $("add-policy-note").value.trim();
    if (note) body.note = note;
    setError("add-policy-error", "");
    $("add-policy-submit").disabled = true;
    api("POST", "/api/policies", body).then(function (res) {
      $("add-policy-submit").disabled = false;
      if (res.handled) return;
      if (res.status === 200 || res.status === 201) {
        $("add-policy-form").reset();
        loadPolicies();
      } else {
        setError("add-policy-error", errorText(res, "Setting the policy"));
      }
    });
  }

  /* ---- the queues ---- */

  function stateClass(st) {
    return "rstate-" + (/^[a-z]+$/.test(st) ? st : "x");
  }

  /* One row per recipient; the message's id and sender on its first. */
  function renderQueue(which, list, truncated) {
    var tbody = $("queue-" + which + "-table").tBodies[0];
    tbody.textContent = "";
    list.forEach(function (m) {
      var rcpts = Array.isArray(m.recipients) ? m.recipients : [];
      if (rcpts.length === 0) rcpts = [{}];
      rcpts.forEach(function (r, i) {
        var tr = el("tr");
        tr.dataset.queueId = m.queue_id || "";
        var id = cell(tr, i === 0 ? m.queue_id : "", "mono");
        if (i === 0 && m.held) id.appendChild(el("span", "badge mode-testing",
          "held"));
        if (i === 0 && m.arrival) id.title = "arrived " + m.arrival;
        cell(tr, i === 0 ? (m.sender === "" ? "<>" : m.sender) : "",
          "mono");
        cell(tr, r.address || "—", "mono");
        cell(tr, r.state || "—", stateClass(r.state));
        cell(tr, r.attempts === undefined ? "" : r.attempts, "num mono");
        cell(tr, r.next_attempt || "—", r.next_attempt ? "time" : "dim");
        var reason = cell(tr, r.reason || "—", r.reason ? "reason" : "dim");
        if (r.last_attempt) reason.title = "last attempt " + r.last_attempt;
        var act = cell(tr, "", "actions");
        if (i === 0 && m.queue_id) queueButtons(act, which, m);
        tbody.appendChild(tr);
      });
    });
    $("queue-" + which + "-count").textContent = "(" + list.length +
      (truncated ? "+" : "") + ")";
    $("queue-" + which + "-table").hidden = list.length === 0;
    $("queue-" + which + "-empty").hidden = list.length > 0;
    $("queue-" + which + "-truncated").hidden = !truncated;
  }

  /* Hold or Release, and Delete: `tlsgate queue hold|release|delete`. */
  function queueButtons(td, which, m) {
    var toggle = m.held ? "release" : "hold";
    var b = el("button", "small queue-" + toggle,
      m.held ? "Release" : "Hold");
    b.type = "button";
    b.title = (m.held ? "Let " + m.queue_id + " be delivered" :
      "Keep " + m.queue_id + " from being delivered");
    b.addEventListener("click", function () {
      queueAction(which, m.queue_id, toggle);
    });
    var rm = el("button", "small danger queue-delete", "Delete");
    rm.type = "button";
    rm.title = "Delete " + m.queue_id;
    rm.addEventListener("click", function () {
      queueAction(which, m.queue_id, "delete");
    });
    td.appendChild(b);
    td.appendChild(rm);
  }

  function queueAction(which, id, action) {
    if (action === "delete" && !window.confirm("Delete the message " + id +
        "?\n\nEvery recipient not yet delivered fails; no bounce is sent."))
      return;
    setError("queue-error", "");
    setStatus("queue-status", "");
    api("POST", "/api/queue/" + which + "/" + encodeURIComponent(id) + "/" +
        action).then(function (res) {
      if (res.handled) return;
      if (res.status !== 200)
        setError("queue-error", errorText(res, "The " + action + " of " +
          id));
      loadQueue(res.status === 200);
    });
  }

  /* `tlsgate queue [--inbound] flush`: the daemon makes every message due
   * now. The reply says whether it could be told. */
  var FLUSHED = {
    yes: ["queue flushed", "ok"],
    no: ["the daemon is not running", "warn"],
    failed: ["the daemon could not be told", "warn"]
  };

  function flushQueue(which) {
    var button = $("queue-" + which + "-flush");
    setError("queue-error", "");
    setStatus("queue-status", "");
    button.disabled = true;
    api("POST", "/api/queue/" + which + "/flush").then(function (res) {
      button.disabled = false;
      if (res.handled) return;
      var told = res.data && res.data.daemon_told;
      if (res.status === 200 && FLUSHED.hasOwnProperty(told)) {
        setStatus("queue-status", "Flush of the " + which + " queue: " +
          FLUSHED[told][0] + ".", FLUSHED[told][1]);
      } else if (res.status === 200) {
        setStatus("queue-status", "Flush of the " + which + " queue: " +
          "daemon_told " + String(told) + ".", "warn");
      } else {
        setError("queue-error", errorText(res, "The flush of the " + which +
          " queue"));
      }
      loadQueue(res.status === 200);
    });
  }

  function loadQueue(clearError) {
    return api("GET", "/api/queue").then(function (res) {
      if (res.handled) return;
      var d = res.data;
      if (res.status === 200 && d && Array.isArray(d.outbound) &&
          Array.isArray(d.inbound)) {
        var t = d.truncated || {};
        if (clearError !== false) setError("queue-error", "");
        renderQueue("outbound", d.outbound, t.outbound === true);
        renderQueue("inbound", d.inbound, t.inbound === true);
      } else {
        setError("queue-error", errorText(res, "Loading the queue"));
      }
    });
  }

  /* ---- TLS reports ---- */

  function plainList(td, items) {
    if (items.length === 0) {
      td.textContent = "—";
      td.className = "dim";
      return;
    }
    var ul = el("ul", "plain");
    items.forEach(function (t) { ul.appendChild(el("li", null, t)); });
    td.appendChild(ul);
  }

  function renderReports(days) {
    var tbody = $("reports-table").tBodies[0];
    tbody.textContent = "";
    days.forEach(function (d) {
      var tr = el("tr");
      cell(tr, d.day, "mono time");
      cell(tr, d.domain, "mono name");
      cell(tr, d.success, "num mono");
      cell(tr, d.failure, "num mono" + (d.failure > 0 ? " bad" : ""));
      var rate = Number(d.success_rate);
      cell(tr, Number.isNaN(rate) ? "—" : rate.toFixed(2) + " %",
        "num mono" + (rate < 100 ? " warn" : ""));
      cell(tr, d.reports, "num mono");
      var res = d.failures_by_result && typeof d.failures_by_result ===
        "object" ? d.failures_by_result : {};
      plainList(cell(tr, "", "mono"), Object.keys(res).map(function (k) {
        return k + ": " + res[k];
      }));
      var orgs = Array.isArray(d.by_organization) ? d.by_organization : [];
      plainList(cell(tr, ""), orgs.map(function (o) {
        return o.organization + " (" + o.success + " / " + o.failure + ")";
      }));
      tbody.appendChild(tr);
    });
    $("reports-count").textContent = "(" + days.length + ")";
    $("reports-table").hidden = days.length === 0;
    $("reports-empty").hidden = days.length > 0;
  }

  function loadReports() {
    var days = encodeURIComponent($("reports-days").value);
    return api("GET", "/api/reports?days=" + days).then(function (res) {
      if (res.handled) return;
      if (res.status === 200 && res.data && Array.isArray(res.data.days)) {
        setError("reports-error", "");
        renderReports(res.data.days);
      } else {
        setError("reports-error", errorText(res, "Loading the reports"));
      }
    });
  }

  /* ---- start ---- */

  function start() {
    ["login-error", "domains-error", "certs-error", "add-domain-error",
      "relay-error", "add-relay-error", "policies-error", "add-policy-error",
      "queue-error", "reports-error"]
      .forEach(function (id) { setError(id, ""); });
    setStatus("queue-status", "");
    $("login-form").addEventListener("submit", onLogin);
    $("logout").addEventListener("click", onLogout);
    $("add-domain-form").addEventListener("submit", onAddDomain);
    $("domains-refresh").addEventListener("click", loadDomains);
    $("certs-refresh").addEventListener("click", loadCerts);
    $("add-relay-form").addEventListener("submit", onAddRelay);
    $("relay-refresh").addEventListener("click", loadRelay);
    $("add-policy-form").addEventListener("submit", onSetPolicy);
    $("policies-refresh").addEventListener("click", loadPolicies);
    $("queue-refresh").addEventListener("click", loadQueue);
    ["outbound", "inbound"].forEach(function (which) {
      $("queue-" + which + "-flush").addEventListener("click", function () {
        flushQueue(which);
      });
    });
    $("reports-refresh").addEventListener("click", loadReports);
    $("reports-days").addEventListener("change", loadReports);
    api("GET", "/api/session").then(function (res) {
      if (res.handled) return;
      if (res.status === 200 && res.data && res.data.csrf) {
        csrf = res.data.csrf;
        showDashboard(res.data.user || "");
      } else {
        showLogin(res.networkError || "");
      }
    });
  }

  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", start);
  else
    start();
})();

/* tlsgate console — talks only to the admin JSON API (web/API.md).
 *
 * No framework, no build step. Everything that comes from the server
 * (domain names, errors, issuers, notes of relay networks and policies,
 * queued addresses and reasons, the organisations of TLS reports, the
 * reports of domain checks) is put in the page with textContent or
 * attribute properties, never parsed as HTML. The page runs under a CSP
 * without 'unsafe-inline': no inline handlers, no style attributes. */
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
    clearCheck();
    setError("check-error", "");
    $("check-submit").disabled = false;
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
    setError("check-error", "");
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
      var chk = el("button", "small domain-check", "Check");
      chk.type = "button";
      chk.title = "Check the transport security of " + d.name +
        " (tlsgate check)";
      chk.addEventListener("click", function () { checkHosted(d.name); });
      var edit = el("button", "small sts-edit", "MTA-STS…");
      edit.type = "button";
      edit.title = "Change the MTA-STS policy of " + d.name;
      edit.addEventListener("click", function () { openSts(tr, d); });
      var rm = el("button", "small danger domain-remove", "Remove");
      rm.type = "button";
      rm.title = "Remove " + d.name;
      rm.addEventListener("click", function () { removeDomain(d.name); });
      act.appendChild(chk);
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

  /* ---- domain checks (`tlsgate check`) ---- */

  /* A check runs on the server; the page asks for it every second until
   * it is done, and gives up after CHECK_POLLS_MAX asks. A new check, or
   * the login screen, stops following the one before (checkRun). */
  var CHECK_POLLS_MAX = 120;
  var checkRun = 0;
  var checkTimer = null;

  function stopCheck() {
    checkRun++;
    if (checkTimer) clearTimeout(checkTimer);
    checkTimer = null;
  }

  function clearCheck() {
    stopCheck();
    setStatus("check-status", "");
    $("check-result").hidden = true;
    ["check-mx-table", "check-sts-table"].forEach(function (id) {
      $(id).tBodies[0].textContent = "";
    });
    $("check-problems").textContent = "";
  }

  /* The class of a verdict's badge: good, bad, or worth a look. */
  var DANE_CLASS = { valid: "v-good", invalid: "v-bad", bogus: "v-bad" };
  var STS_CLASS = { "enforce-valid": "v-good", "enforce-invalid": "v-bad",
    invalid: "v-bad", "fetch-error": "v-bad" };

  function verdictBadge(map, status) {
    var s = typeof status === "string" && status ? status : "unknown";
    return el("span", "badge " + (map.hasOwnProperty(s) ? map[s] :
      "v-warn"), s);
  }

  /* A badge and its reason, in td: "valid — every address verified". */
  function verdict(td, map, v) {
    v = v && typeof v === "object" ? v : {};
    td.textContent = "";
    td.appendChild(verdictBadge(map, v.status));
    if (v.reason) td.appendChild(document.createTextNode(" — " + v.reason));
  }

  function line(parent, text, cls) {
    return parent.appendChild(el("div", cls, text));
  }

  function strings(a) {
    return Array.isArray(a) ? a.filter(function (x) {
      return typeof x === "string";
    }) : [];
  }

  /* One address of an MX host as `tlsgate check` prints it: not probed,
   * the reason it failed, or the TLS session and whether it verified. */
  function renderAddr(td, t) {
    var div = el("div", "addr");
    div.appendChild(el("span", "mono", t.address || "?"));
    div.appendChild(document.createTextNode(" "));
    if (!t.probed) {
      div.appendChild(el("span", "dim", "not probed"));
      td.appendChild(div);
      return;
    }
    if (typeof t.version !== "string" || t.version === "") {
      var why = el("span", "bad", t.reason || t.status || "failed");
      if (t.status) why.title = t.status;
      div.appendChild(why);
      td.appendChild(div);
      return;
    }
    div.appendChild(el("span", "mono", t.version + " " + (t.cipher || "")));
    div.appendChild(document.createTextNode(" "));
    var dane = t.mode === "dane";
    div.appendChild(el("span", t.verified ? "good" : "warn",
      dane ? (t.verified ? "DANE verified" : "DANE verification FAILED") :
        "not authenticated (no usable TLSA)"));
    td.appendChild(div);
    var chain = Array.isArray(t.chain) ? t.chain : [];
    if (chain.length > 0 && chain[0] && chain[0].subject)
      line(td, "cert: " + chain[0].subject, "dim sub-line");
    if (dane && !t.verified)
      line(td, t.verify_error || t.reason || "", "bad sub-line");
  }

  function renderTlsa(td, mx) {
    if (!mx.tlsa_lookup) {
      td.textContent = "not looked up";
      td.className = "dim";
      td.title = "TLSA records are looked up only when the addresses " +
        "are DNSSEC-signed";
      return;
    }
    line(td, (mx.tlsa_owner || "") + ": " + mx.tlsa_lookup + ", " +
      (mx.tlsa_dnssec || "?"), "mono");
    (Array.isArray(mx.tlsa) ? mx.tlsa : []).forEach(function (r) {
      var d = line(td, r.record || "", "mono tlsa-record");
      if (r.usable === false) {
        d.classList.add("dim");
        d.appendChild(el("span", "warn", "  (unusable for SMTP)"));
      }
    });
    if (mx.rollover) line(td, "rollover: a second usable digest is " +
      "published", "dim sub-line");
  }

  function renderCheckMx(list) {
    var tbody = $("check-mx-table").tBodies[0];
    tbody.textContent = "";
    list.forEach(function (mx) {
      if (!mx || typeof mx !== "object") return;
      var tr = el("tr");
      tr.dataset.host = mx.host || "";
      var host = cell(tr, mx.host || "?", "mono name");
      if (mx.cname) line(host, "→ " + mx.cname, "dim sub-line");
      cell(tr, mx.preference, "num mono");
      cell(tr, mx.dnssec || "—", "dnssec-" +
        (/^[a-z]+$/.test(mx.dnssec) ? mx.dnssec : "x"));
      renderTlsa(cell(tr, "", "tlsa"), mx);
      var addrs = cell(tr, "", "addrs");
      var tls = Array.isArray(mx.tls) ? mx.tls : [];
      if (tls.length === 0) {
        addrs.textContent = "no address";
        addrs.className = "dim";
      }
      tls.forEach(function (t) {
        if (t && typeof t === "object") renderAddr(addrs, t);
      });
      verdict(cell(tr, "", "verdict"), DANE_CLASS, mx.dane);
      tbody.appendChild(tr);
    });
    $("check-mx-count").textContent = "(" + tbody.rows.length + ")";
    $("check-mx-table").hidden = tbody.rows.length === 0;
    $("check-mx-empty").hidden = tbody.rows.length > 0;
  }

  function kvRow(tbody, key, text, cls) {
    var tr = el("tr");
    tr.appendChild(el("th", null, key));
    var td = el("td", cls, text);
    tr.appendChild(td);
    tbody.appendChild(tr);
    return td;
  }

  /* The facts behind the MTA-STS verdict: the TXT record, the policy
   * fetched (or why not), each MX host against its patterns and its
   * web-PKI certificate, and what the relay has cached. */
  function renderCheckSts(sts, started) {
    var tbody = $("check-sts-table").tBodies[0];
    tbody.textContent = "";
    var txt = sts.txt && typeof sts.txt === "object" ? sts.txt : {};
    var fetch = sts.fetch && typeof sts.fetch === "object" ? sts.fetch : {};
    var pol = sts.policy && typeof sts.policy === "object" ? sts.policy :
      null;
    var cached = sts.cached && typeof sts.cached === "object" ?
      sts.cached : null;
    if (!txt.valid && !fetch.attempted && !pol && !cached) {
      $("check-sts").hidden = true;
      return;
    }
    if (txt.valid) kvRow(tbody, "TXT record", "v=STSv1; id=" +
      (sts.id || ""), "mono");
    else if (txt.records > 0)
      kvRow(tbody, "TXT record", txt.error || "invalid", "bad");
    if (fetch.url) kvRow(tbody, "Policy URL", fetch.url, "mono");
    if (pol) {
      kvRow(tbody, "Policy", "mode " + pol.mode + ", max_age " +
        pol.max_age + ", mx " + strings(pol.mx).join(" "), "mono");
    } else if (fetch.attempted) {
      var why = fetch.error || "failed";
      if (fetch.http_status) why += " (HTTP " + fetch.http_status + ")";
      if (fetch.result_type) why += " [" + fetch.result_type + "]";
      kvRow(tbody, "Fetch", why, "bad");
    }
    var pki = {};
    (Array.isArray(sts.webpki) ? sts.webpki : []).forEach(function (w) {
      if (w && w.host) pki[w.host] = w;
    });
    (Array.isArray(sts.mx_coverage) ? sts.mx_coverage : [])
      .forEach(function (c) {
        if (!c || typeof c !== "object") return;
        var td = kvRow(tbody, "MX " + c.host, "");
        td.appendChild(el("span", c.match ? "good" : "bad", c.match ?
          "matches " + c.pattern : "matches no mx pattern"));
        var w = pki.hasOwnProperty(c.host) ? pki[c.host] : null;
        if (w && w.valid)
          td.appendChild(el("span", "good", "; certificate valid for " +
            c.host + " (web PKI)"));
        else if (w)
          td.appendChild(el("span", "bad", "; certificate not valid: " +
            (w.reason || w.status || "?")));
      });
    if (cached) {
      var exp = Date.parse(cached.expires_at);
      var ref = Date.parse(started);
      if (Number.isNaN(ref)) ref = Date.now();
      var td = kvRow(tbody, "Relay cache", "id " + cached.id + ", mode " +
        cached.mode + ", " + (exp > ref ? "in force until " : "expired ") +
        cached.expires_at, "dim");
      if (cached.differs)
        td.appendChild(el("span", "warn", " (the fetched policy differs)"));
    }
    $("check-sts").hidden = tbody.rows.length === 0;
  }

  function renderCheckProblems(list) {
    var ul = $("check-problems");
    ul.textContent = "";
    list.forEach(function (p) {
      if (!p || typeof p !== "object") return;
      var sev = /^(error|warning|info)$/.test(p.severity) ? p.severity :
        "info";
      var li = el("li", "problem sev-" + sev);
      li.dataset.severity = sev;
      li.appendChild(el("span", "badge sev-" + sev, p.severity || "?"));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", "message", p.message || ""));
      if (p.fix) {
        var fix = li.appendChild(el("div", "fix"));
        fix.appendChild(el("span", "fix-label", "fix: "));
        fix.appendChild(el("span", null, p.fix));
      }
      ul.appendChild(li);
    });
    var n = ul.children.length;
    $("check-problems-count").textContent = "(" + n + ")";
    ul.hidden = n === 0;
    $("check-no-problems").hidden = n > 0;
  }

  function tlsrptText(t) {
    var txt = t && t.txt && typeof t.txt === "object" ? t.txt : {};
    var rua = strings(t && t.rua);
    if (txt.valid) return { text: rua.join(", "), cls: "mono" };
    if (txt.records > 0) return { text: txt.error || "invalid", cls: "bad" };
    if (txt.lookup === "temporary failure")
      return { text: "could not be looked up" + (txt.error ? ": " +
        txt.error : ""), cls: "warn" };
    return { text: "not published", cls: "dim" };
  }

  /* The report, as `tlsgate check` prints it in a terminal. */
  function renderCheck(chk) {
    var rep = chk.report && typeof chk.report === "object" ? chk.report : {};
    var domain = rep.domain || chk.domain || "";
    $("check-result-domain").textContent = domain;
    $("check-started").textContent = chk.started ? "checked " +
      chk.started : "";
    var cnc = $("check-could-not");
    if (typeof rep.domain !== "string") {
      cnc.textContent = "The check of " + domain + " ended without a " +
        "report.";
      cnc.hidden = false;
    } else if (rep.could_not_check) {
      var why = rep.dane && rep.dane.reason ? rep.dane.reason :
        "the MX lookup failed temporarily";
      cnc.textContent = "Could not check " + domain + ": " + why +
        ". Try again later.";
      cnc.hidden = false;
    } else {
      cnc.textContent = "";
      cnc.hidden = true;
    }
    var mxl = $("check-mx-lookup");
    mxl.textContent = (rep.mx_lookup || "?") + ", DNSSEC " +
      (rep.mx_dnssec || "?") + (rep.implicit_mx ? " (no MX: the domain " +
      "itself is the MX)" : "") + (rep.null_mx ? " (null MX: the " +
      "domain accepts no mail)" : "");
    mxl.className = rep.mx_lookup === "ok" ? "" : "warn";
    verdict($("check-dane"), DANE_CLASS, rep.dane);
    var sts = rep.mta_sts && typeof rep.mta_sts === "object" ?
      rep.mta_sts : {};
    verdict($("check-mta-sts"), STS_CLASS, sts);
    var rpt = tlsrptText(rep.tlsrpt);
    $("check-tlsrpt").textContent = rpt.text;
    $("check-tlsrpt").className = rpt.cls;
    $("check-relay").textContent = rep.relay || "—";
    renderCheckMx(Array.isArray(rep.mx) ? rep.mx : []);
    renderCheckSts(sts, chk.started);
    renderCheckProblems(Array.isArray(rep.problems) ? rep.problems : []);
    $("check-result").hidden = false;
  }

  /* Ask for the check every second until it is done. */
  function followCheck(run, chk, polls) {
    if (run !== checkRun) return;
    var domain = chk.domain || "";
    if (chk.state === "done") {
      setStatus("check-status", "");
      renderCheck(chk);
      return;
    }
    if (polls >= CHECK_POLLS_MAX) {
      stopCheck();
      setStatus("check-status", "");
      setError("check-error", "The check of " + domain + " has not " +
        "ended within about two minutes (" + polls + " tries); the page " +
        "stopped waiting for it. Try again later.");
      return;
    }
    setStatus("check-status", "checking " + domain + "…");
    checkTimer = setTimeout(function () {
      checkTimer = null;
      api("GET", "/api/checks/" + encodeURIComponent(chk.id))
        .then(function (res) {
          if (run !== checkRun || res.handled) return;
          var d = res.data;
          if (res.status === 200 && d && typeof d.id === "string" &&
              (d.state === "running" || d.state === "done")) {
            followCheck(run, d, polls + 1);
          } else {
            setStatus("check-status", "");
            setError("check-error", errorText(res, "Following the check " +
              "of " + domain));
          }
        });
    }, 1000);
  }

  function startCheck(domain) {
    clearCheck();
    var run = checkRun;
    setError("check-error", "");
    $("check-submit").disabled = true;
    api("POST", "/api/checks", { domain: domain }).then(function (res) {
      if (run !== checkRun) return;
      $("check-submit").disabled = false;
      if (res.handled) return;
      var d = res.data;
      if ((res.status === 202 || res.status === 200) && d &&
          typeof d.id === "string") {
        followCheck(run, d, 0);
      } else {
        setError("check-error", errorText(res, "Starting the check"));
      }
    });
  }

  function onCheck(ev) {
    ev.preventDefault();
    var domain = $("check-domain").value.trim();
    if (!domain) {
      setError("check-error", "Enter the domain to check.");
      return;
    }
    startCheck(domain);
  }

  /* The Check button of a hosted domain: fill the form, start, show. */
  function checkHosted(name) {
    $("check-domain").value = name;
    startCheck(name);
    $("check-section").scrollIntoView({ block: "start" });
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
        /* RFC 8689: goes only over verified TLS, else comes back. */
        if (i === 0 && m.requiretls) id.appendChild(el("span",
          "badge mode-enforce", "REQUIRETLS"));
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
      "queue-error", "reports-error", "check-error"]
      .forEach(function (id) { setError(id, ""); });
    setStatus("queue-status", "");
    setStatus("check-status", "");
    $("login-form").addEventListener("submit", onLogin);
    $("logout").addEventListener("click", onLogout);
    $("add-domain-form").addEventListener("submit", onAddDomain);
    $("domains-refresh").addEventListener("click", loadDomains);
    $("certs-refresh").addEventListener("click", loadCerts);
    $("check-form").addEventListener("submit", onCheck);
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

#!/usr/bin/python3
# The web console in a real browser: Debian's chromium, headless, driven by
# Debian's chromedriver through python3-selenium. Run by console.sh; prints
# TAP lines ("ok - ..." / "not ok - ...") and "#" notes.
#
# The browser trusts the admin certificate the way an administrator's
# browser would be made to: chromium on Linux reads the NSS database in
# $HOME/.pki/nssdb, so a fresh HOME gets one (certutil, libnss3-tools) with
# the admin certificate added as a trusted peer ("P,,"). No
# --ignore-certificate-errors, no acceptInsecureCerts: a certificate the
# browser does not trust fails the first check.
#
#   console_driver.py --url https://localhost:PORT/ --cert ADMIN.pem
#       --user NAME --password-file FILE --tg TG-WRAPPER --work DIR
#       --shot OUT.png [--shot OUT2.png...]
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException,
                                        StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 10          # seconds, every wait for the page
fails = 0
logs = []          # every browser console entry seen


def ok(what):
    print("ok - " + what, flush=True)


def not_ok(what, *notes):
    global fails
    fails += 1
    print("not ok - " + what, flush=True)
    for n in notes:
        for line in str(n).splitlines()[:20]:
            print("#   " + line, flush=True)


def expect(what, cond, *notes):
    if cond:
        ok(what)
    else:
        not_ok(what, *notes)
    return cond


def note(s):
    for line in str(s).splitlines():
        print("# " + line, flush=True)


def nssdb(home, cert):
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db, mode=0o700)
    subprocess.run(["certutil", "-N", "-d", "sql:" + db, "--empty-password"],
                   check=True, capture_output=True, timeout=30)
    # "P,,": a trusted peer for TLS, i.e. this very certificate is trusted
    # as the server's (chromium accepts the self-signed leaf, CA:FALSE, as
    # tlsgate makes it; "CT,,", a trusted CA, gives ERR_CERT_INVALID).
    subprocess.run(["certutil", "-A", "-d", "sql:" + db, "-n",
                    "tlsgate admin", "-t", "P,,", "-i", cert],
                   check=True, capture_output=True, timeout=30)
    out = subprocess.run(["certutil", "-L", "-d", "sql:" + db],
                         capture_output=True, text=True, timeout=30).stdout
    note("NSS database " + db + ":\n" + out.strip())


def browser(home, profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu",
              "--disable-quic", "--no-first-run",
              "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1366,768",
              "--user-data-dir=" + profile,
              "--host-resolver-rules=MAP localhost 127.0.0.1"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    env = dict(os.environ, HOME=home)
    service = Service(executable_path="/usr/bin/chromedriver", env=env,
                      log_path=os.path.join(home, "chromedriver.log"))
    d = webdriver.Chrome(service=service, options=opts)
    d.set_page_load_timeout(30)
    d.set_script_timeout(10)
    return d


def collect(d):
    try:
        logs.extend(d.get_log("browser"))
    except WebDriverException as e:
        note("browser log unavailable: %s" % e)


def wait(d, cond, secs=WAIT):
    return WebDriverWait(d, secs, poll_frequency=0.1,
                         ignored_exceptions=[StaleElementReferenceException]
                         ).until(cond)


def visible(d, css):
    return wait(d, EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def text_of(d, css):
    els = d.find_elements(By.CSS_SELECTOR, css)
    return els[0].text if els else ""


ROWS = ("Array.from(document.querySelectorAll("
        "'#domains-table tbody tr[data-domain]'))")


def domain_names(d):
    return d.execute_script("return %s.map(r => r.dataset.domain);" % ROWS)


def domain_row(d, name):
    """The row of the domains table for name (KeyError when none)."""
    tr = d.execute_script("return %s.find(r => r.dataset.domain === "
                          "arguments[0]) || null;" % ROWS, name)
    if tr is None:
        raise KeyError(name)
    return tr


def domain_cells(d, name):
    """The texts of the cells of name's row, [] when there is none."""
    return d.execute_script(
        "const r = %s.find(r => r.dataset.domain === arguments[0]);"
        "return r ? Array.from(r.cells, c => c.innerText.trim()) : [];"
        % ROWS, name)


def cells(tr):
    return [td.text for td in tr.find_elements(By.TAG_NAME, "td")]


def fill(d, css, value):
    e = d.find_element(By.CSS_SELECTOR, css)
    e.clear()
    if value:
        e.send_keys(value)


def no_alert(d, secs=1.5):
    """True when no dialog opens within secs."""
    try:
        wait(d, EC.alert_is_present(), secs)
    except TimeoutException:
        return True
    try:
        a = d.switch_to.alert
        note("dialog opened: %r" % a.text)
        a.dismiss()
    except NoAlertPresentException:
        pass
    return False


def tg_json(tg, *args):
    """`tlsgate ARGS` (a list --json): (the parsed output or None, text)."""
    r = subprocess.run([tg] + list(args), capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        return None, r.stdout + r.stderr
    try:
        return json.loads(r.stdout), r.stdout
    except ValueError:
        return None, r.stdout


def tg_domains(tg):
    return tg_json(tg, "domain", "list", "--json")


def tg_relay(tg):
    return tg_json(tg, "relay", "list", "--json")


def tg_policies(tg):
    return tg_json(tg, "policy", "list", "--json")


# The rows of the relay networks and policies tables, by their data-*
# key (data-network, data-domain).
def keyed_rows(table, key):
    return ("Array.from(document.querySelectorAll('#%s tbody tr'))"
            ".filter(r => r.dataset.%s !== undefined)" % (table, key))


def table_keys(d, table, key):
    return d.execute_script("return %s.map(r => r.dataset.%s);"
                            % (keyed_rows(table, key), key))


def table_row(d, table, key, value):
    """The row of table whose data-KEY is value (KeyError when none)."""
    tr = d.execute_script("return %s.find(r => r.dataset.%s === "
                          "arguments[0]) || null;"
                          % (keyed_rows(table, key), key), value)
    if tr is None:
        raise KeyError(value)
    return tr


def table_cells(d, table, key, value):
    """The texts of the cells of value's row, [] when there is none."""
    return d.execute_script(
        "const r = %s.find(r => r.dataset.%s === arguments[0]);"
        "return r ? Array.from(r.cells, c => c.innerText.trim()) : [];"
        % (keyed_rows(table, key), key), value)


def confirm_click(d, button, what):
    """Click button, accept the confirmation it asks for."""
    button.click()
    wait(d, EC.alert_is_present())
    al = d.switch_to.alert
    ok("%s asks for confirmation (%s)" % (what, al.text.splitlines()[0]))
    al.accept()


def check_queue(d):
    """Both queues render: rows, or the note "empty"."""
    for which in ("outbound", "inbound"):
        table = "#queue-%s-table" % which
        empty = "#queue-%s-empty" % which

        def shown(d, table=table, empty=empty):
            rows = d.find_elements(By.CSS_SELECTOR, table + " tbody tr")
            note_el = d.find_element(By.CSS_SELECTOR, empty)
            return rows or note_el.is_displayed()
        try:
            wait(d, shown)
            rows = d.find_elements(By.CSS_SELECTOR, table + " tbody tr")
            if rows:
                ok("the %s queue shows %d row(s)" % (which, len(rows)))
            else:
                expect("the %s queue says empty" % which,
                       text_of(d, empty) == "empty", text_of(d, empty))
        except TimeoutException:
            not_ok("the %s queue renders" % which,
                   "error: %r" % text_of(d, "#queue-error"))
    expect("the queue section shows no error",
           text_of(d, "#queue-error") == "", text_of(d, "#queue-error"))


def check_reports(d, domain):
    """The TLS reports table renders (a row for domain when given), and
    another period reloads it."""
    rows = "#reports-table tbody tr"

    def shown(d):
        return (d.find_elements(By.CSS_SELECTOR, rows) or
                d.find_element(By.ID, "reports-empty").is_displayed())
    try:
        wait(d, shown)
        found = [cells(tr) for tr in
                 d.find_elements(By.CSS_SELECTOR, rows)]
        if domain:
            mine = [c for c in found if len(c) > 1 and c[1] == domain]
            expect("the TLS reports table has a row for " + domain,
                   len(mine) == 1, found)
            if mine:
                ok("TLS reports row: %s" % " | ".join(mine[0]))
        else:
            ok("the TLS reports section renders (%d row(s))" % len(found))
    except TimeoutException:
        not_ok("the TLS reports section renders",
               "error: %r" % text_of(d, "#reports-error"))
    Select(d.find_element(By.ID, "reports-days")).select_by_value("90")
    time.sleep(0.5)
    try:
        wait(d, shown)
        expect("the TLS reports for 90 days load without an error",
               text_of(d, "#reports-error") == "",
               text_of(d, "#reports-error"))
    except TimeoutException:
        not_ok("the TLS reports for 90 days load",
               "error: %r" % text_of(d, "#reports-error"))


ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def check_relay(d, tg):
    """Allow a network through the form, be refused a malformed one, deny
    it with its button; the store (tlsgate relay list) follows."""
    N = "10.9.8.0/24"
    NOTE = "lab <b>net</b> & co"      # markup in a note is shown as text
    T = "relay-table"

    # ---- allow ----
    fill(d, "#add-relay-network", N)
    fill(d, "#add-relay-note", NOTE)
    d.find_element(By.ID, "add-relay-submit").click()
    try:
        wait(d, lambda d: N in table_keys(d, T, "network"))
        c = table_cells(d, T, "network", N)
        ok("relay allow %s: the row appears (%s)" % (N, " | ".join(c[:3])))
        expect("relay allow: the network is shown", c[0] == N, c)
        expect("relay allow: the note is shown as text", c[1] == NOTE, c)
        expect("relay allow: no element made of the note",
               d.execute_script("return document.querySelectorAll("
                                "'#relay-table b').length") == 0)
        expect("relay allow: the time added is shown", ISO.match(c[2]), c)
        expect("relay allow: the form is cleared",
               d.find_element(By.ID, "add-relay-network")
               .get_attribute("value") == "" and
               d.find_element(By.ID, "add-relay-note")
               .get_attribute("value") == "")
        expect("relay allow: no error shown",
               text_of(d, "#add-relay-error") == "",
               text_of(d, "#add-relay-error"))
    except TimeoutException:
        not_ok("relay allow %s: the row appears" % N,
               "error: %r" % text_of(d, "#add-relay-error"),
               "list error: %r" % text_of(d, "#relay-error"))
    lst, raw = tg_relay(tg)
    mine = [x for x in (lst or []) if x.get("network") == N]
    expect("relay allow: tlsgate relay list --json shows it",
           len(mine) == 1, raw)
    if mine:
        expect("relay allow: the store has the note",
               mine[0].get("note") == NOTE, json.dumps(mine[0]))

    # ---- a malformed network: the API's error at the form ----
    before = table_keys(d, T, "network")
    fill(d, "#add-relay-network", "10.9.8.0/33")
    d.find_element(By.ID, "add-relay-submit").click()
    try:
        wait(d, lambda d: text_of(d, "#add-relay-error").strip() != "")
        ok("relay allow 10.9.8.0/33 is refused, at the form: %s"
           % text_of(d, "#add-relay-error"))
    except TimeoutException:
        not_ok("relay allow 10.9.8.0/33 is refused with an error shown")
    expect("relay: the refused network is not in the table",
           table_keys(d, T, "network") == before,
           table_keys(d, T, "network"))
    lst2, raw2 = tg_relay(tg)
    expect("relay: the store is unchanged by the refused network",
           lst2 is not None and lst is not None and
           [x.get("network") for x in lst2] ==
           [x.get("network") for x in lst], raw2)
    fill(d, "#add-relay-network", "")

    # ---- deny ----
    try:
        btn = table_row(d, T, "network", N).find_element(
            By.CSS_SELECTOR, ".relay-deny")
        confirm_click(d, btn, "relay deny")
        wait(d, lambda d: N not in table_keys(d, T, "network"))
        ok("relay deny: the row is gone")
        expect("relay deny: no error shown",
               text_of(d, "#relay-error") == "", text_of(d, "#relay-error"))
    except (TimeoutException, KeyError) as e:
        not_ok("relay deny: the row is gone", repr(e),
               "error: %r" % text_of(d, "#relay-error"))
    lst, raw = tg_relay(tg)
    expect("relay deny: tlsgate relay list --json no longer shows it",
           lst is not None and all(x.get("network") != N for x in lst), raw)


def check_policies(d, tg):
    """Set a destination's policy through the form, remove it with its
    button; the store (tlsgate policy list) follows."""
    P = "partner.example"
    NOTE = "TLS by contract"
    T = "policies-table"

    fill(d, "#add-policy-domain", P)
    Select(d.find_element(By.ID, "add-policy-mode")).select_by_value(
        "encrypt")
    fill(d, "#add-policy-note", NOTE)
    d.find_element(By.ID, "add-policy-submit").click()
    try:
        wait(d, lambda d: P in table_keys(d, T, "domain"))
        c = table_cells(d, T, "domain", P)
        ok("policy set %s: the row appears (%s)" % (P, " | ".join(c[:4])))
        expect("policy set: the mode is shown", c[1] == "encrypt", c)
        expect("policy set: the note is shown", c[2] == NOTE, c)
        expect("policy set: the time updated is shown", ISO.match(c[3]), c)
        expect("policy set: the form is cleared",
               d.find_element(By.ID, "add-policy-domain")
               .get_attribute("value") == "")
    except TimeoutException:
        not_ok("policy set %s: the row appears" % P,
               "error: %r" % text_of(d, "#add-policy-error"),
               "list error: %r" % text_of(d, "#policies-error"))
    lst, raw = tg_policies(tg)
    mine = [x for x in (lst or []) if x.get("domain") == P]
    expect("policy set: tlsgate policy list --json shows it",
           len(mine) == 1 and mine[0].get("mode") == "encrypt" and
           mine[0].get("note") == NOTE, raw)

    try:
        btn = table_row(d, T, "domain", P).find_element(
            By.CSS_SELECTOR, ".policy-remove")
        confirm_click(d, btn, "policy remove")
        wait(d, lambda d: P not in table_keys(d, T, "domain"))
        ok("policy remove: the row is gone")
        expect("policy remove: no error shown",
               text_of(d, "#policies-error") == "",
               text_of(d, "#policies-error"))
    except (TimeoutException, KeyError) as e:
        not_ok("policy remove: the row is gone", repr(e),
               "error: %r" % text_of(d, "#policies-error"))
    lst, raw = tg_policies(tg)
    expect("policy remove: tlsgate policy list --json no longer shows it",
           lst is not None and all(x.get("domain") != P for x in lst), raw)


def check_flush(d):
    """The Flush buttons: no relayd or mxd runs here, so the page says the
    daemon is not running, and the queue is shown again."""
    for which in ("outbound", "inbound"):
        d.find_element(By.ID, "queue-%s-flush" % which).click()
        try:
            wait(d, lambda d: which in text_of(d, "#queue-status") or
                 text_of(d, "#queue-error").strip() != "")
            msg = text_of(d, "#queue-status")
            expect("flush %s: the page says the daemon is not running (%s)"
                   % (which, msg), "the daemon is not running" in msg and
                   which in msg, "error: %r" % text_of(d, "#queue-error"))
            expect("flush %s: no error shown" % which,
                   text_of(d, "#queue-error") == "",
                   text_of(d, "#queue-error"))
            wait(d, lambda d: d.find_element(
                By.ID, "queue-%s-flush" % which).is_enabled() and
                d.find_element(By.ID, "queue-%s-empty" % which)
                .is_displayed())
            ok("flush %s: the queue is still shown (empty)" % which)
        except TimeoutException:
            not_ok("flush %s: a result is shown" % which,
                   "status: %r" % text_of(d, "#queue-status"),
                   "error: %r" % text_of(d, "#queue-error"))


CHECK_WAIT = 90    # seconds for a domain check (each step is <= 10 s)


def check_shown(d):
    """What the check section shows: (status, error, result shown)."""
    return (text_of(d, "#check-status"), text_of(d, "#check-error"),
            d.find_element(By.ID, "check-result").is_displayed())


def check_result(d, domain, how):
    """Wait for the check of domain started by how (the form, the
    domain's row) to end; assert only what is deterministic without lab
    DNS: a result for domain, with problems or a could-not-check
    message."""
    try:
        wait(d, lambda d: ("checking " + domain) in
             text_of(d, "#check-status") or
             text_of(d, "#check-error").strip() != "" or
             d.find_element(By.ID, "check-result").is_displayed())
        st, err, _ = check_shown(d)
        expect("check %s (%s): the page says it is checking (%s)"
               % (domain, how, st), st == "checking %s…" % domain,
               "status %r error %r" % (st, err))
    except TimeoutException:
        not_ok("check %s (%s): the check starts" % (domain, how),
               "status %r error %r result %r" % check_shown(d))
        return
    t0 = time.time()
    try:
        wait(d, lambda d: text_of(d, "#check-error").strip() != "" or
             d.find_element(By.ID, "check-result").is_displayed(),
             CHECK_WAIT)
    except TimeoutException:
        not_ok("check %s (%s): a result within %d s" % (domain, how,
                                                         CHECK_WAIT),
               "status %r error %r result %r" % check_shown(d))
        return
    st, err, shown = check_shown(d)
    if not expect("check %s (%s): a result is shown after %.1f s"
                  % (domain, how, time.time() - t0), shown and not err,
                  "error: %r" % err):
        return
    expect("check %s (%s): the result is for %s" % (domain, how, domain),
           text_of(d, "#check-result-domain") == domain,
           text_of(d, "#check-result-domain"))
    expect("check %s (%s): the status no longer says checking"
           % (domain, how),
           not d.find_element(By.ID, "check-status").is_displayed(), st)
    cnc = d.find_element(By.ID, "check-could-not")
    probs = d.execute_script(
        "return Array.from(document.querySelectorAll("
        "'#check-problems li'), li => [li.dataset.severity, "
        "li.innerText.trim()]);")
    expect("check %s (%s): the problems or a could-not-check message are "
           "shown (%d problem(s)%s)" % (domain, how, len(probs),
                                        ", could not check"
                                        if cnc.is_displayed() else ""),
           probs or cnc.is_displayed())
    expect("check %s (%s): each problem has a severity "
           "(error, warning, info)" % (domain, how),
           all(s in ("error", "warning", "info") for s, _ in probs), probs)
    verdicts = d.execute_script(
        "return Array.from(document.querySelectorAll("
        "'#check-verdicts tr'), r => [r.cells[0].innerText.trim(), "
        "r.cells[1].innerText.trim()]);")
    expect("check %s (%s): the verdicts are shown (MX lookup, DANE, "
           "MTA-STS, TLS-RPT, Relay)" % (domain, how),
           [k for k, _ in verdicts] == ["MX lookup", "DANE", "MTA-STS",
                                        "TLS-RPT", "Relay"] and
           all(v for _, v in verdicts), verdicts)
    # The outcome depends on what the resolver reaches here: shown only.
    if cnc.is_displayed():
        note("check %s: %s" % (domain, cnc.text))
    for k, v in verdicts:
        note("check %s: %s: %s" % (domain, k, v))
    note("check %s: %d MX host(s): %s" % (domain, len(
        d.find_elements(By.CSS_SELECTOR, "#check-mx-table tbody tr")),
        text_of(d, "#check-mx-table tbody")))
    for s, t in probs:
        note("check %s: problem: %s" % (domain, t.replace("\n", " / ")))


def check_domains(d, domain):
    """Check a hosted domain through the form and through its row's
    Check button; a malformed name is refused at the form."""
    d.execute_script("document.getElementById('check-section')"
                     ".scrollIntoView()")
    fill(d, "#check-domain", domain)
    d.find_element(By.ID, "check-submit").click()
    check_result(d, domain, "the form")

    # A malformed name: the API's 400 at the form, no check starts.
    bad = "bad..example"
    fill(d, "#check-domain", bad)
    d.find_element(By.ID, "check-submit").click()
    try:
        wait(d, lambda d: text_of(d, "#check-error").strip() != "")
        err = text_of(d, "#check-error")
        expect("check %s: the API's error is shown at the form (%s)"
               % (bad, err), err.startswith("domain: "), err)
    except TimeoutException:
        not_ok("check %s: an error is shown at the form" % bad,
               "status %r error %r result %r" % check_shown(d))
    time.sleep(1.5)   # a check that started would say so by now
    st, err, shown = check_shown(d)
    expect("check %s: no check starts (no status, no result)" % bad,
           not d.find_element(By.ID, "check-status").is_displayed() and
           not shown, "status %r result %r" % (st, shown))

    # The Check button of the domain's row fills the form and starts.
    try:
        domain_row(d, domain).find_element(By.CSS_SELECTOR,
                                           ".domain-check").click()
    except KeyError:
        not_ok("the domains table has a row for %s with a Check button"
               % domain)
        return
    expect("the row's Check button fills the form with %s" % domain,
           d.find_element(By.ID, "check-domain").get_attribute("value")
           == domain)
    expect("the row's Check button clears the form's error",
           text_of(d, "#check-error") == "", text_of(d, "#check-error"))
    check_result(d, domain, "its row's button")


def run(d, a, password):
    url = a.url
    D = "example.test"

    # ---- the login page ----
    d.get(url)
    try:
        visible(d, "#login-form")
        ok("login page shown over HTTPS, certificate trusted")
    except TimeoutException:
        not_ok("login page shown over HTTPS, certificate trusted",
               "title: %r" % d.title, d.page_source[:1500])
        return
    expect("the dashboard is hidden before login",
           not d.find_element(By.ID, "dashboard").is_displayed())
    secure = d.execute_script("return window.isSecureContext")
    expect("the page is a secure context", secure is True)

    # ---- a wrong password ----
    fill(d, "#login-user", a.user)
    fill(d, "#login-password", "not-the-password")
    d.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
    try:
        wait(d, lambda d: text_of(d, "#login-error").strip() != "")
        err = text_of(d, "#login-error")
        ok("wrong password: an error is shown (%s)" % err)
    except TimeoutException:
        not_ok("wrong password: an error is shown")
    expect("wrong password: the error is in a role=alert element",
           d.find_element(By.ID, "login-error").get_attribute("role")
           == "alert")
    expect("wrong password: still on the login page",
           d.find_element(By.ID, "login-form").is_displayed() and
           not d.find_element(By.ID, "dashboard").is_displayed())

    # ---- the right one ----
    fill(d, "#login-user", a.user)
    fill(d, "#login-password", password)
    d.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
    try:
        visible(d, "#dashboard")
        wait(d, lambda d: text_of(d, "#current-user") == a.user)
        ok("right password: the dashboard shows the user " + a.user)
    except TimeoutException:
        not_ok("right password: the dashboard shows the user " + a.user,
               "login error: %r" % text_of(d, "#login-error"),
               "user shown: %r" % text_of(d, "#current-user"))
        return
    expect("the session cookie is not readable from script (HttpOnly)",
           "tg_session" not in d.execute_script("return document.cookie"))

    # ---- certificates ----
    try:
        wait(d, lambda d: any(
            tr.get_attribute("data-role") == "admin" for tr in
            d.find_elements(By.CSS_SELECTOR, "#certs-table tbody tr")))
        tr = [tr for tr in
              d.find_elements(By.CSS_SELECTOR, "#certs-table tbody tr")
              if tr.get_attribute("data-role") == "admin"][0]
        c = cells(tr)
        ok("the certificates table lists the admin certificate (%s)"
           % " | ".join(c))
        expect("the admin certificate is shown for " + a.hostname,
               c[0] == a.hostname, c)
        expect("the admin certificate has the self-signed badge",
               len(tr.find_elements(By.CSS_SELECTOR, ".self-signed")) == 1)
        spki = tr.find_element(By.CSS_SELECTOR, "td.spki")
        full = spki.get_attribute("title") or ""
        expect("the SPKI is shortened, the full value in its title",
               len(full) == 64 and spki.text.endswith("…") and
               full.startswith(spki.text.rstrip("…")),
               "text %r title %r" % (spki.text, full))
        if a.spki:
            expect("the SPKI is the store's", full == a.spki,
                   "%r != %r" % (full, a.spki))
    except TimeoutException:
        not_ok("the certificates table lists the admin certificate",
               "error: %r" % text_of(d, "#certs-error"),
               d.find_element(By.ID, "certs-table").get_attribute(
                   "outerHTML")[:1500])

    # ---- the queues and the TLS reports (read-only views) ----
    check_queue(d)
    check_reports(d, a.report_domain)

    # ---- add a domain ----
    fill(d, "#add-name", D)
    fill(d, "#add-route", "mail.internal.test:25")
    Select(d.find_element(By.ID, "add-mode")).select_by_value("none")
    fill(d, "#add-mx", "")
    fill(d, "#add-max-age", "86400")
    d.find_element(By.CSS_SELECTOR, "#add-domain-form [type=submit]").click()
    try:
        wait(d, lambda d: D in domain_names(d))
        c = domain_cells(d, D)
        ok("add %s: the row appears (%s)" % (D, " | ".join(c[:6])))
        expect("add: the route is shown", c[1] == "mail.internal.test:25", c)
        expect("add: the mode is shown", c[2] == "none", c)
        expect("add: the form is cleared",
               d.find_element(By.ID, "add-name").get_attribute("value") == "")
    except TimeoutException:
        not_ok("add %s: the row appears" % D,
               "error: %r" % text_of(d, "#add-domain-error"))
    lst, raw = tg_domains(a.tg)
    mine = [x for x in (lst or []) if x.get("name") == D]
    expect("add: tlsgate domain list --json shows it", len(mine) == 1, raw)
    if mine:
        expect("add: the store has the route",
               mine[0].get("inbound_route") == "mail.internal.test:25",
               json.dumps(mine[0]))

    # ---- enforce without a covering pattern: refused, shown at the form ----
    try:
        domain_row(d, D).find_element(By.CSS_SELECTOR, ".sts-edit").click()
        visible(d, "#sts-form")
        Select(d.find_element(By.ID, "sts-mode")).select_by_value("enforce")
        fill(d, "#sts-mx", "other.example.test")
        d.find_element(By.ID, "sts-submit").click()
        # The server looks the MX records up (bounded by dns.timeout).
        wait(d, lambda d: text_of(d, "#sts-error").strip() != "", 30)
        ok("enforce with an uncovered MX is refused, at the form: %s"
           % text_of(d, "#sts-error"))
        d.find_element(By.ID, "sts-cancel").click()
        wait(d, lambda d: not d.find_elements(By.ID, "sts-form"))
    except (TimeoutException, KeyError) as e:
        not_ok("enforce with an uncovered MX is refused, at the form",
               repr(e))

    # ---- MTA-STS testing ----
    try:
        domain_row(d, D).find_element(By.CSS_SELECTOR, ".sts-edit").click()
        visible(d, "#sts-form")
        Select(d.find_element(By.ID, "sts-mode")).select_by_value("testing")
        fill(d, "#sts-mx", "mail.example.test")
        fill(d, "#sts-max-age", "604800")
        d.find_element(By.ID, "sts-submit").click()
        wait(d, lambda d: not d.find_elements(By.ID, "sts-form") and
             D in domain_names(d) and
             domain_cells(d, D)[2] == "testing", 30)
        c = domain_cells(d, D)
        ok("MTA-STS testing: the table shows it (%s)" % " | ".join(c[:6]))
        expect("MTA-STS testing: the mx pattern is shown",
               c[3] == "mail.example.test", c)
        expect("MTA-STS testing: max_age is shown", c[4] == "604800", c)
    except (TimeoutException, KeyError) as e:
        not_ok("MTA-STS testing: the table shows it", repr(e),
               "error: %r" % text_of(d, "#sts-error"))
    lst, raw = tg_domains(a.tg)
    mine = [x for x in (lst or []) if x.get("name") == D]
    sts = mine[0].get("mta_sts", {}) if mine else {}
    expect("MTA-STS testing: the store has it",
           sts.get("mode") == "testing" and
           sts.get("mx") == ["mail.example.test"], raw)

    # ---- a hostile name is refused, shown as text ----
    evil = '<img src=x onerror=alert(1)><script>alert(2)</script>.test'
    fill(d, "#add-name", evil)
    d.find_element(By.CSS_SELECTOR, "#add-domain-form [type=submit]").click()
    try:
        wait(d, lambda d: text_of(d, "#add-domain-error").strip() != "")
        ok("a name with <script> is refused: %s"
           % text_of(d, "#add-domain-error"))
    except TimeoutException:
        not_ok("a name with <script> is refused with an error shown")
    expect("no dialog opened by the hostile name", no_alert(d))
    expect("the error is text: no element inside it",
           d.execute_script("return document.querySelectorAll("
                            "'#add-domain-error *').length") == 0)
    expect("no <img> or extra <script> in the page",
           d.execute_script(
               "return document.images.length === 0 && "
               "document.scripts.length === 1"))
    expect("the hostile name is not in the table",
           evil not in domain_names(d))
    lst, raw = tg_domains(a.tg)
    expect("the hostile name is not in the store",
           lst is not None and all("<" not in x.get("name", "")
                                   for x in lst), raw)
    fill(d, "#add-name", "")

    # ---- the screenshot, with a domain in the table ----
    for p in a.shot:
        try:
            d.save_screenshot(p)
        except WebDriverException as e:
            note("screenshot %s: %s" % (p, e))
    # The queue and TLS report sections (which grow with the queue) sit
    # below the fold: the domains and certificates still fit in the first
    # screen, and nothing scrolls sideways.
    fits = d.execute_script(
        "return [Math.ceil(document.getElementById('certs-section')"
        ".getBoundingClientRect().bottom + window.scrollY),"
        " window.innerHeight,"
        " document.documentElement.scrollWidth, window.innerWidth]")
    expect("domains and certificates fit in 1366x768 without scrolling, "
           "no sideways scrolling (%s)" % fits,
           fits[0] <= fits[1] and fits[2] <= fits[3])

    # ---- remove ----
    try:
        domain_row(d, D).find_element(By.CSS_SELECTOR,
                                       ".domain-remove").click()
        wait(d, EC.alert_is_present())
        al = d.switch_to.alert
        ok("remove asks for confirmation (%s)" % al.text.splitlines()[0])
        al.accept()
        wait(d, lambda d: D not in domain_names(d))
        ok("remove: the row is gone")
    except (TimeoutException, KeyError) as e:
        not_ok("remove: the row is gone", repr(e),
               "error: %r" % text_of(d, "#domains-error"))
    lst, raw = tg_domains(a.tg)
    expect("remove: tlsgate domain list --json no longer shows it",
           lst is not None and all(x.get("name") != D for x in lst), raw)

    check_relay(d, a.tg)
    check_policies(d, a.tg)
    check_flush(d)
    if a.check_domain:
        check_domains(d, a.check_domain)

    # ---- the browser's console: no CSP violation, no script error ----
    collect(d)
    for e in logs:
        if e.get("level") in ("SEVERE", "WARNING"):
            note("browser %s: %s" % (e.get("level"), e.get("message")))
    csp = [e["message"] for e in logs
           if "Content Security Policy" in e.get("message", "") or
           "Refused to" in e.get("message", "")]
    expect("no CSP violation in the browser console", not csp, *csp)
    jserr = [e["message"] for e in logs
             if "Uncaught" in e.get("message", "") or
             e.get("source") == "javascript" and e.get("level") == "SEVERE"]
    expect("no script error in the browser console", not jserr, *jserr)

    # ---- log out; a reload stays logged out ----
    try:
        d.find_element(By.ID, "logout").click()
        visible(d, "#login-form")
        ok("log out: back to the login page")
    except TimeoutException:
        not_ok("log out: back to the login page")
    d.refresh()
    try:
        visible(d, "#login-form")
        time.sleep(0.5)
        expect("reload after logout: still the login page",
               not d.find_element(By.ID, "dashboard").is_displayed())
    except TimeoutException:
        not_ok("reload after logout: still the login page")

    # ---- brute force: after a few failures the server says when to retry
    # (429 retry_after); the page says so and holds the button meanwhile.
    # Another user name, so that the user above is not slowed down.
    held = False
    tries = 0
    try:
        for tries in range(1, 13):
            fill(d, "#login-user", "intruder")
            fill(d, "#login-password", "guess-%d" % tries)
            d.find_element(By.ID, "login-submit").click()
            wait(d, lambda d: text_of(d, "#login-error").strip() != "", 20)
            if not d.find_element(By.ID, "login-submit").is_enabled():
                held = True
                break
            wait(d, lambda d: d.find_element(By.ID, "login-submit")
                 .is_enabled(), 20)
    except TimeoutException:
        pass
    msg = text_of(d, "#login-error")
    expect("repeated failures: the retry delay is shown and the button "
           "held (after %d tries: %s)" % (tries, msg),
           held and "again in" in msg, msg)
    collect(d)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--hostname", default="localhost")
    p.add_argument("--cert", required=True)
    p.add_argument("--spki", default="")
    p.add_argument("--user", required=True)
    p.add_argument("--password-file", required=True)
    p.add_argument("--tg", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--shot", action="append", default=[])
    p.add_argument("--report-domain", default="",
                   help="a policy domain with a received report")
    p.add_argument("--check-domain", default="",
                   help="a hosted domain to check (tlsgate check)")
    a = p.parse_args()
    with open(a.password_file) as f:
        password = f.read().rstrip("\n")

    home = tempfile.mkdtemp(prefix="home.", dir=a.work)
    profile = tempfile.mkdtemp(prefix="profile.", dir=a.work)
    try:
        nssdb(home, a.cert)
        ok("NSS database with the admin certificate trusted")
    except (subprocess.SubprocessError, OSError) as e:
        not_ok("NSS database with the admin certificate trusted",
               getattr(e, "stderr", "") or e)
        return 1
    try:
        d = browser(home, profile)
    except WebDriverException as e:
        not_ok("chromium starts under chromedriver", e)
        log = os.path.join(home, "chromedriver.log")
        if os.path.exists(log):
            note(open(log).read()[-2000:])
        return 1
    ok("chromium starts under chromedriver (%s)"
       % d.capabilities.get("browserVersion", "?"))
    try:
        run(d, a, password)
    except Exception:
        not_ok("the driver ran to its end", traceback.format_exc())
        for p in a.shot:
            try:
                d.save_screenshot(p)
            except WebDriverException:
                pass
    finally:
        try:
            d.quit()
        except WebDriverException:
            pass
        shutil.rmtree(profile, ignore_errors=True)
    # The checks were reported as TAP lines; the status says only whether
    # the driver ran (a crash before any line still counts as a failure).
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared pieces of the dashboard's browser tests (tests/ui): a headless
Debian chromium driven through chromium-driver and python3-selenium,
against the real cluster of tests/integration/harness.py.

Screenshots of each page go to var/ui/ (HG_UI_SHOTS overrides) for review."""

import glob
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
try:
    from selenium import webdriver
except ImportError:
    # Debian's python3-selenium lives in the system interpreter's
    # dist-packages, which a pyenv or venv python3 first on PATH skips.
    sys.path.extend(glob.glob("/usr/lib/python3/dist-packages"))
    from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from harness import SOURCE_DIR, WaitTimeout, log, wait_until  # noqa: F401 (re-exported)

SHOTS = os.environ.get("HG_UI_SHOTS") or os.path.join(SOURCE_DIR, "var", "ui")


def browser(width=1280, height=800):
    opts = webdriver.ChromeOptions()
    for b in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(b):
            opts.binary_location = b
            break
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=%d,%d" % (width, height), "--disable-extensions", "--no-first-run"):
        opts.add_argument(a)
    driver_path = next((p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
                        if os.path.exists(p)), "chromedriver")
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    d.set_page_load_timeout(30)
    d.set_window_size(width, height)
    return d


class Ui:
    """A browser on the dashboard of cluster c."""

    def __init__(self, c, width=1280, height=800):
        self.c = c
        self.d = browser(width, height)

    def close(self):
        try:
            self.d.quit()
        except WebDriverException:
            pass

    def go(self, hash_path):
        self.d.execute_script("location.hash = arguments[0]", hash_path)

    def open(self):
        self.d.get(self.c.api_url + "/")

    def login(self, token):
        self.open()
        box = self.wait_el("token")
        box.clear()
        box.send_keys(token)
        self.el("login-btn").click()

    def el(self, id_):
        return self.d.find_element(By.ID, id_)

    def css(self, sel):
        return self.d.find_elements(By.CSS_SELECTOR, sel)

    def wait(self, predicate, timeout=20, what=None, interval=0.2):
        def safe():
            try:
                return predicate()
            except (StaleElementReferenceException, WebDriverException):
                return None
        try:
            return wait_until(safe, timeout=timeout, what=what, interval=interval)
        except WaitTimeout as e:
            raise WaitTimeout("%s; the page showed: %s" % (e, self.seen())) from None

    def seen(self):
        """What a user would have seen when a wait failed: the page's
        address, the flash message, a form error, the start of the page's
        text, and a screenshot (var/ui/failed-*.png)."""
        parts = []
        try:
            parts.append("hash %r" % self.d.execute_script("return location.hash"))
            for id_ in ("flash", "f-error", "login-error"):
                if self.text(id_):
                    parts.append("#%s %r" % (id_, self.text(id_)))
            body = self.d.find_element(By.ID, "page").text
            parts.append("page text %r" % body[:600])
            parts.append("screenshot " + self.shot("failed-%d" % int(time.time())))
        except WebDriverException as e:
            parts.append("(the browser did not answer: %s)" % e.__class__.__name__)
        return "; ".join(parts)

    def wait_el(self, id_, timeout=20):
        return self.wait(lambda: self.d.find_elements(By.ID, id_) and self.el(id_), timeout,
                         "element #%s" % id_)

    def text(self, id_):
        found = self.d.find_elements(By.ID, id_)
        return found[0].text if found else ""

    def visible(self, id_):
        found = self.d.find_elements(By.ID, id_)
        return bool(found) and found[0].is_displayed()

    def flash(self):
        return self.text("flash") if self.visible("flash") else ""

    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        path = os.path.join(SHOTS, name + ".png")
        self.d.save_screenshot(path)
        return path

    def no_horizontal_overflow(self):
        return self.d.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1")

    def rows(self, table_id):
        """Text of the body rows of a table (none for the empty-table row)."""
        return [r.text for r in self.css("#%s tbody tr" % table_id)
                if not r.find_elements(By.CSS_SELECTOR, "td.muted[colspan]")]

    def timed(self, action, ready, timeout=20):
        t0 = time.monotonic()
        action()
        self.wait(ready, timeout=timeout, interval=0.02)
        return time.monotonic() - t0

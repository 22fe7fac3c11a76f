"""Lighthouse-style figures for the PWA shell on this machine (run by `scripts/e2e.sh --measure`).

Each run opens a fresh headless Chromium (empty cache, no service worker yet) on /explore and reports:
the shell's weight (HTML, CSS, JS, icons, manifest: bytes and requests, excluding API answers and product
images), DOMContentLoaded, and "interactive": the moment the first product card of the grid is on screen
(the app shell has booted, asked the API and drawn). Then a warm load (second navigation, service worker
installed). Medians over AGORA_MEASURE_RUNS runs (5).
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from test_marketplace import BASE, browser  # noqa: E402

RUNS = int(os.environ.get("AGORA_MEASURE_RUNS", "5"))

FIGURES = """
const nav = performance.getEntriesByType("navigation")[0];
const shell = performance.getEntriesByType("resource").filter((r) => {
  const path = new URL(r.name).pathname;
  return new URL(r.name).origin === location.origin && !path.startsWith("/api/") && !path.startsWith("/media/");
});
return {
  bytes: nav.encodedBodySize + shell.reduce((sum, r) => sum + r.encodedBodySize, 0),
  requests: 1 + shell.length,
  domContentLoaded: nav.domContentLoadedEventEnd,
  interactive: window.__firstCard,
  files: shell.map((r) => [new URL(r.name).pathname, r.encodedBodySize]),
};
"""

MARK = """
new MutationObserver((_, observer) => {
  if (document.querySelector('.product-card')) { window.__firstCard = performance.now(); observer.disconnect(); }
}).observe(document, {subtree: true, childList: true});
"""


def load(driver):
    driver.get(BASE + "/explore")
    WebDriverWait(driver, 30, poll_frequency=0.02).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".product-card"))
    WebDriverWait(driver, 5).until(lambda d: d.execute_script("return window.__firstCard !== undefined"))
    return driver.execute_script(FIGURES)


cold, warm = [], []
for _ in range(RUNS):
    driver = browser()
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": MARK})
        cold.append(load(driver))
        driver.execute_script("return navigator.serviceWorker.ready.then(() => true)")
        warm.append(load(driver))
    finally:
        driver.quit()

median = lambda runs, key: statistics.median(run[key] for run in runs)  # noqa: E731
print(f"shell: {median(cold, 'bytes') / 1024:.1f} KiB in {median(cold, 'requests'):.0f} requests (uncompressed; API answers and images excluded)")
for name, runs in (("cold", cold), ("warm", warm)):
    print(f"{name}: DOMContentLoaded {median(runs, 'domContentLoaded'):.0f} ms, first product card {median(runs, 'interactive'):.0f} ms"
          f" (median of {len(runs)}; min {min(r['interactive'] for r in runs):.0f}, max {max(r['interactive'] for r in runs):.0f})")
print("largest shell files:", ", ".join(f"{path} {size / 1024:.1f} KiB" for path, size in sorted(cold[0]["files"], key=lambda f: -f[1])[:6]))

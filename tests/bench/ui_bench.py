"""The dashboard with 1,000 pods in headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium), against a master's API over an
in-memory store on loopback.

    python -m tests.bench.ui_bench [--pods 1000] [--runs 5]

Figures (medians): first contentful paint of the page; the pods page listed
and drawn after navigation; one full redraw of every row, timed in the page
(build the rows, set them, lay the table out).
"""

from __future__ import annotations

import argparse
import statistics
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from tests.support import wait_until
from tests.unit.api_harness import ADMIN_TOKEN, Api, pod

_REDRAW = """const t = performance.now();
document.getElementById('pod-filter').dispatchEvent(new Event('input'));
document.body.offsetHeight;  // the layout, too
return performance.now() - t;"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    api = Api()
    for i in range(args.pods):
        api.objects.create(pod(f"p{i:05d}", node="n1"))
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--ignore-certificate-errors",
              "--window-size=1280,900"):
        opts.add_argument(a)
    driver = webdriver.Chrome(options=opts, service=Service("/usr/bin/chromedriver"))
    try:
        driver.get(api.url + "/ui/login")
        driver.find_element(By.ID, "token").send_keys(ADMIN_TOKEN)
        driver.find_element(By.ID, "login").click()
        wait_until(lambda: driver.find_elements(By.ID, "main"), 10)
        paints, loads, redraws = [], [], []
        for _ in range(args.runs):
            driver.get(api.url + "/ui/#/pods")
            started = time.perf_counter()
            wait_until(lambda: len(driver.find_elements(
                By.CSS_SELECTOR, "#pod-list tbody tr[data-name]")) >= args.pods, 60, 0.01)
            loads.append(time.perf_counter() - started)
            paints.append(driver.execute_script(
                "return performance.getEntriesByName('first-contentful-paint')[0].startTime"))
            redraws.append(driver.execute_script(_REDRAW))
        print(f"{args.pods} pods, {args.runs} runs, medians:")
        print(f"  first contentful paint      {statistics.median(paints):7.0f} ms")
        print(f"  pods page listed and drawn  {statistics.median(loads) * 1000:7.0f} ms")
        print(f"  one full redraw             {statistics.median(redraws):7.0f} ms")
    finally:
        driver.quit()
        api.close()


if __name__ == "__main__":
    main()

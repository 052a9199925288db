#!/usr/bin/env python3
"""Drives the dashboard of a running cluster in headless Chromium (Selenium + chromium-driver from Debian).

Run by DashboardBrowserTests (Tests/ControlTests) against `opsctl serve` with two workers running the sample
pipeline; docs/dashboard.md. Signs in through the form (a wrong token first), opens the train job's page while
it runs and waits for the page to draw every loss point the API then holds without being reloaded by the test,
then, once every job has finished, loads each page and checks its DOM against the API (job names and states,
one chart point per metric row, workers, queues, datasets, shards), checks keyboard focus, and saves a
screenshot of each page that must decode as a PNG that is not blank. Exits non-zero naming the first check
that failed.
"""
import argparse
import json
import os
import sys
import time
import urllib.parse
import urllib.request

from PIL import Image, ImageStat
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

TERMINAL = {"succeeded", "failed", "cancelled"}
# Metrics the dashboard does not chart (UnchartedMetrics in Sources/APITypes/Wire/Lineage.swift).
UNCHARTED = {"batch_checksum"}


class Check(Exception):
    pass


def require(condition, what):
    if not condition:
        raise Check(what)


class API:
    def __init__(self, base, token):
        self.base, self.token = base, token

    def get(self, path, **query):
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        request = urllib.request.Request(url, headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def job(self, name):
        return self.get("/v1/jobs/" + urllib.parse.quote(name, safe=""))

    def metric_counts(self, job):
        counts, cursor = {}, None
        while True:
            query = {"limit": 5000}
            if cursor:
                query["cursor"] = cursor
            page = self.get("/v1/jobs/%s/metrics" % urllib.parse.quote(job, safe=""), **query)
            for point in page["items"]:
                counts[point["name"]] = counts.get(point["name"], 0) + 1
            cursor = page.get("nextCursor")
            if not cursor:
                return counts


def wait_until(what, timeout_seconds, condition, interval_seconds=0.5):
    deadline = time.time() + timeout_seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_seconds)
    raise Check("timed out after %ss waiting for %s" % (timeout_seconds, what))


def chart_counts(driver):
    """Metric name -> (points of its polyline, rows of its table of points)."""
    return {name: tuple(pair) for name, pair in driver.execute_script(
        """
        const out = {};
        for (const figure of document.querySelectorAll('figure.chart')) {
          const points = (figure.querySelector('polyline').getAttribute('points') || '').trim();
          out[figure.dataset.metric] = [points ? points.split(/\\s+/).length : 0,
                                        figure.querySelectorAll('tbody tr').length];
        }
        return out;
        """
    ).items()}


def screenshot(driver, directory, name):
    """Saves the page at its full height and checks the PNG is a picture, not a blank page."""
    height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 4000)")
    driver.set_window_size(1400, max(900, height))
    time.sleep(0.3)
    path = os.path.join(directory, name + ".png")
    require(driver.save_screenshot(path), "saving " + path)
    with Image.open(path) as image:
        image.load()
        require(image.format == "PNG", "%s is %s, not PNG" % (path, image.format))
        require(image.width >= 800 and image.height >= 600, "%s is %dx%d" % (path, image.width, image.height))
        grey = image.convert("L")
        deviation = ImageStat.Stat(grey).stddev[0]
        colours = len(image.convert("RGB").getcolors(maxcolors=1 << 20) or [])
        require(deviation > 10 and colours > 8, "%s looks blank: stddev %.1f, %d colours" % (path, deviation, colours))
    driver.set_window_size(1400, 900)
    return {"file": name + ".png", "stddev": round(deviation, 1), "colours": colours}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--train-job", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--workers", required=True, help="comma-separated worker names")
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--timeout-seconds", type=float, default=900)
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    api = API(args.base, args.token)

    options = webdriver.ChromeOptions()
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,900",
                 "--force-device-scale-factor=1"]:
        options.add_argument(flag)
    options.binary_location = os.environ.get("OPS_CHROMIUM", "/usr/bin/chromium")
    service = Service(executable_path=os.environ.get("OPS_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    shots, report = [], {}
    try:
        # Signing in: the pages send a browser without a session to the form; a wrong token is refused there.
        driver.get(args.base + "/")
        require(driver.current_url.endswith("/login"), "an anonymous visit lands on /login, not " + driver.current_url)
        shots.append(screenshot(driver, args.screenshots, "login"))
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        active = driver.switch_to.active_element
        require(active.get_attribute("class") == "skip", "the first Tab focuses the skip link")
        driver.find_element(By.ID, "token").send_keys("not-a-token")
        driver.find_element(By.CSS_SELECTOR, "form#login button").click()
        wait_until("the sign-in form to say why it refused the token", 20,
                   lambda: driver.find_elements(By.ID, "login-problem"))
        cookies = driver.get_cookies()
        require(not any(c["name"] == "ops_session" for c in cookies), "a wrong token sets no cookie")
        driver.find_element(By.ID, "token").send_keys(args.token)
        driver.find_element(By.CSS_SELECTOR, "form#login button").click()
        wait_until("the jobs page after sign-in", 20, lambda: driver.find_elements(By.ID, "jobs"))
        session = [c for c in driver.get_cookies() if c["name"] == "ops_session"]
        require(session and session[0]["httpOnly"] and session[0].get("sameSite") == "Strict",
                "the session cookie is HttpOnly and SameSite=Strict: %s" % session)
        require(args.token not in driver.current_url, "no token in the URL")

        # Live: the train job's page, opened while it runs, draws the points that arrive after it loaded.
        wait_until("%s running with loss points" % args.train_job, args.timeout_seconds,
                   lambda: api.job(args.train_job)["state"] == "running"
                   and api.metric_counts(args.train_job).get("loss", 0) >= 2)
        # The queues page lists the queues jobs use while they have work: now, the default queue running the job.
        driver.get(args.base + "/queues")
        queues = {row.get_attribute("data-queue"): row.find_elements(By.TAG_NAME, "td")[4].text
                  for row in driver.find_elements(By.CSS_SELECTOR, "#queues tbody tr")}
        require("default" in queues and int(queues["default"]) >= 1,
                "queues page lists default with running tasks: %s" % queues)
        shots.append(screenshot(driver, args.screenshots, "queues"))

        driver.get(args.base + "/jobs/" + urllib.parse.quote(args.train_job, safe=""))
        state_at_load = driver.find_element(By.ID, "job-state").text
        loss_at_load = chart_counts(driver).get("loss", (0, 0))[0]
        require(state_at_load == "running", "the train job is running when its page loads: " + state_at_load)
        shots.append(screenshot(driver, args.screenshots, "job-running"))
        driver.execute_script("window.openedByTest = true")
        wait_until("%s finished" % args.train_job, args.timeout_seconds,
                   lambda: api.job(args.train_job)["state"] in TERMINAL, interval_seconds=2)
        final = api.metric_counts(args.train_job)
        seen = {}

        def drawn_all():
            seen["charts"] = chart_counts(driver)
            seen["state"] = driver.find_element(By.ID, "job-state").text
            return seen["charts"].get("loss", (0, 0)) == (final["loss"], final["loss"]) and seen["state"] in TERMINAL

        try:
            wait_until("the open page to draw all %d loss points" % final["loss"], 60, drawn_all)
        except Check as timeout:
            raise Check("%s: the page shows %s (state %s); the job has %s" % (timeout, seen.get("charts"),
                                                                             seen.get("state"), final))
        reloaded = not driver.execute_script("return window.openedByTest === true")
        require(final["loss"] > loss_at_load, "points arrived after the page loaded (%d then %d)"
                % (loss_at_load, final["loss"]))
        report["live"] = {"lossAtLoad": loss_at_load, "lossFinal": final["loss"], "reloadedForNewMetric": reloaded}

        # Every job finished: each page against the API.
        jobs = wait_until("every job finished", args.timeout_seconds, lambda: (
            lambda items: items if items and all(j["state"] in TERMINAL for j in items) else None)(
            api.get("/v1/jobs")["items"]), interval_seconds=2)
        driver.get(args.base + "/")
        rows = {row.get_attribute("data-job"): row.find_element(By.CSS_SELECTOR, ".state").text
                for row in driver.find_elements(By.CSS_SELECTOR, "#jobs tbody tr")}
        expected = {job["name"]: job["state"] for job in jobs}
        require(rows == expected, "the jobs page shows %s; the API %s" % (rows, expected))
        shots.append(screenshot(driver, args.screenshots, "jobs"))

        driver.get(args.base + "/jobs/" + urllib.parse.quote(args.train_job, safe=""))
        counts = chart_counts(driver)
        # batch_checksum is bookkeeping (one point a step, for `opsctl replay`), not a curve: never charted
        # (UnchartedMetrics in the control plane).
        metrics = {name: n for name, n in api.metric_counts(args.train_job).items() if name not in UNCHARTED}
        require("batch_checksum" not in counts, "no chart of batch_checksum")
        require(set(counts) == set(metrics), "charts %s for metrics %s" % (sorted(counts), sorted(metrics)))
        for name, rows_of_metric in metrics.items():
            require(counts[name] == (rows_of_metric, rows_of_metric),
                    "chart %s has %s points/rows; the job has %d metric rows" % (name, counts[name], rows_of_metric))
        for required in ["loss", "lr", "grad_norm", "tokens_per_second", "val_loss"]:
            require(required in counts, "a chart of " + required)
        require(driver.find_element(By.ID, "job-state").text == api.job(args.train_job)["state"], "the job's state")
        require(len(driver.find_elements(By.CSS_SELECTOR, "#attempts tbody tr")) >= 2, "attempts of both workers")
        require(driver.find_element(By.ID, "logs").text.strip() != "", "the log tail")
        require(driver.find_elements(By.CSS_SELECTOR, "#artifacts tbody tr"), "the checkpoints as artifacts")
        require(driver.find_elements(By.CSS_SELECTOR, "#lineage li"), "the newest checkpoint's lineage tree")
        require(driver.find_element(By.CSS_SELECTOR, "svg[role=img] desc").get_attribute("textContent"),
                "each chart has a text alternative")
        report["charts"] = metrics
        shots.append(screenshot(driver, args.screenshots, "job"))

        driver.get(args.base + "/workers")
        workers = [row.get_attribute("data-worker") for row in driver.find_elements(By.CSS_SELECTOR, "#workers tbody tr")]
        require(sorted(workers) == sorted(args.workers.split(",")), "workers page lists %s" % workers)
        shots.append(screenshot(driver, args.screenshots, "workers"))

        driver.get(args.base + "/datasets")
        datasets = [row.get_attribute("data-dataset") for row in driver.find_elements(By.CSS_SELECTOR, "#datasets tbody tr")]
        require(args.dataset in datasets, "datasets page lists %s: %s" % (args.dataset, datasets))
        shots.append(screenshot(driver, args.screenshots, "datasets"))

        driver.get(args.base + "/datasets/" + urllib.parse.quote(args.dataset, safe=""))
        shards = len(driver.find_elements(By.CSS_SELECTOR, "#shards tbody tr"))
        expected_shards = api.get("/v1/datasets/" + urllib.parse.quote(args.dataset, safe=""))["shardCount"]
        require(shards == expected_shards, "dataset page shows %d shards of %d" % (shards, expected_shards))
        shots.append(screenshot(driver, args.screenshots, "dataset"))

        report["screenshots"] = shots
        print(json.dumps(report, sort_keys=True))
        return 0
    except Exception as failure:
        print("FAILED: %s: %s (at %s)\n%s" % (type(failure).__name__, str(failure).splitlines()[0] if str(failure) else "",
                                             driver.current_url, driver.page_source[:3000]), file=sys.stderr)
        driver.save_screenshot(os.path.join(args.screenshots, "failure.png"))
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())

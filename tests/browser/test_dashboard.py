"""The dashboard (/ui/ on every master) in headless Chromium against one
``cox cluster up`` (3 masters, 2 nodes): what an operator does with it, each
step checked on the page (waiting on conditions with deadlines, never sleeping)
and against the cluster's state read through the API.

Screenshots of each page land in the test's tmp_path/screenshots (pytest's
basetemp), named after the page; a failed test adds ``failed.png`` and
``failed.html``.
"""

from __future__ import annotations

import base64

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from coxapi.client import Client
from coxapi.errors import ApiError, TooManyRequests
from master.api.config import ApiConfig
from tests.browser.cluster import deployment, held_requests, up
from tests.support import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_without_a_session_every_page_is_the_login_page(cluster, browser):
    browser.open(cluster.ui_url())
    browser.visible("#token")
    browser.visible("#login")
    browser.shoot("login")
    assert not browser.all('[data-page="nodes"]') or not browser.all('[data-name]')
    browser.open(cluster.ui_url() + "#/nodes")
    browser.visible("#token")
    assert not browser.all('[data-name="n1"]')


def test_a_wrong_token_stays_on_the_login_page(cluster, browser):
    browser.open(cluster.ui_url())
    browser.visible("#token").send_keys("not-a-token")
    browser.clickable("#login").click()
    browser.until(lambda d: d.find_element("css selector", "#token").is_displayed()
                  and not d.find_elements("css selector", "[data-name]"),
                  "the login form still shown, and no data")
    assert not [c for c in browser.driver.get_cookies() if c["name"] == "coxswain-session"]


def test_login_sets_a_strict_http_only_secure_session_cookie(cluster, browser):
    browser.login(cluster.ui_url(), cluster.token)
    browser.shoot("cluster")
    (cookie,) = [c for c in browser.driver.get_cookies() if c["name"] == "coxswain-session"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert cluster.token not in cookie["value"]  # sealed, not the token itself


def test_login_shows_both_nodes_ready_and_the_leader_marked(cluster, browser):
    browser.login(cluster.ui_url(), cluster.token)
    leader = cluster.leader()
    browser.until(lambda d: browser.names('#raft tr[data-role="leader"]') == {leader.name},
                  f"{leader.name}, and only it, marked as the leader")
    browser.shoot("cluster")
    browser.page("nodes")
    for node in ("n1", "n2"):
        assert browser.cell(node, "status") == "Ready"


# In the page: the number of usage samples this master holds for node arguments[0].
USAGE_SAMPLES = """
const done = arguments[arguments.length - 1];
fetch('/ui/usage').then(r => r.json()).then(u => done((u.nodes[arguments[0]] || []).length),
                                            e => done(-1));
"""


def test_the_nodes_page_draws_the_last_hour_at_once(cluster, browser):
    """The charts start from the history the master keeps, not from an empty tab."""
    browser.login(cluster.ui_url(), cluster.token)
    wait_until(lambda: browser.driver.execute_async_script(USAGE_SAMPLES, "n1") >= 3, 90, 1,
               "the master holding 3 usage samples of n1")
    # The nodes page drops what the tab held and asks the master for its history, so
    # a point older than the page's opening came from the master. (The document's own
    # timeOrigin is the login's: the first samples may arrive after it.)
    opened = browser.driver.execute_script("return Date.now()")
    browser.page("nodes")
    chart = 'tr[data-name="n1"] svg.chart[data-metric="CPU"]'
    browser.until(lambda d: int(browser.visible(chart).get_attribute("data-points")) >= 3,
                  "n1's CPU chart drawn with the history")
    assert int(browser.visible(chart).get_attribute("data-from")) < opened  # measured before
    mem = browser.visible('tr[data-name="n1"] svg.chart[data-metric="memory"]')
    assert int(mem.get_attribute("data-points")) >= 3


PAGES = ("cluster", "nodes", "workloads", "pods", "services", "events", "config", "apply")


@pytest.mark.parametrize("size", [(390, 844), (1366, 768)], ids=["phone", "laptop"])
def test_every_page_at_phone_and_laptop_width(cluster, browser, size):
    """Screenshots of every page at a phone's and a laptop's size; nothing but a
    table's own scroller may scroll sideways, and the navigation stays reachable."""
    browser.driver.set_window_size(*size)
    browser.login(cluster.ui_url(), cluster.token)
    for name in PAGES:
        browser.page(name, shot=f"{name}-{size[0]}x{size[1]}")
        overflow = browser.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the {name} page scrolls sideways by {overflow}px"


def same_document(browser) -> None:
    """Mark the document: still marked later means the page was never reloaded."""
    browser.driver.execute_script("window.__coxNoReload = true")


def still_same_document(browser) -> bool:
    return browser.driver.execute_script("return window.__coxNoReload === true")


def pod_rows(browser, app: str) -> set[str]:
    return browser.names(f'tr[data-name^="default/{app}-"]')


def api_pods(cluster, app: str) -> set[str]:
    return {f"default/{p['metadata']['name']}" for p in cluster.running_pods(f"app={app}")}


def test_scale_from_the_page_and_see_the_pods_appear_live(cluster, browser):
    cluster.apply(deployment("web", 1))
    wait_until(lambda: len(cluster.running_pods("app=web")) == 1, 120, 0.5, "web's pod Running")
    browser.login(cluster.ui_url(), cluster.token)
    browser.page("workloads")
    same_document(browser)
    browser.press("default/web", "scale")
    replicas = browser.visible("#scale-replicas")
    replicas.clear()
    replicas.send_keys("3")
    browser.clickable("#confirm-yes").click()
    wait_until(lambda: cluster.client.get("Deployment", "web")["spec"]["replicas"] == 3, 30, 0.2,
               "spec.replicas 3 stored")
    # the row follows the rollout from its watch: 3/3 ready arrives seconds later
    browser.until(lambda d: "3/3" in browser.row("default/web").text, "web shown 3/3 ready", 120)
    browser.shoot("workloads-scaled")
    browser.page("pods")
    running = wait_until(lambda: (p := api_pods(cluster, "web")) and len(p) == 3 and p, 60, 0.5,
                         "3 web pods Running")
    browser.until(lambda d: running <= pod_rows(browser, "web"), "the 3 pods listed")
    # a pod that appears while the page is open is listed without a reload
    gone = sorted(running)[0]
    cluster.client.delete("Pod", gone.split("/")[1])
    browser.until(lambda d: (rows := pod_rows(browser, "web")) and gone not in rows
                  and len(rows - running) >= 1, "its replacement listed live, the pod gone", 120)
    assert still_same_document(browser)
    browser.shoot("pods-live")


def test_rollout_restart_from_the_page_replaces_every_pod(cluster, browser):
    before = wait_until(lambda: (p := api_pods(cluster, "web")) and len(p) == 3 and p, 120, 0.5,
                        "3 web pods Running")
    browser.login(cluster.ui_url(), cluster.token)
    browser.page("workloads")
    same_document(browser)
    browser.act("default/web", "restart")
    wait_until(lambda: "kubectl.kubernetes.io/restartedAt" in cluster.client.get(
        "Deployment", "web")["spec"]["template"]["metadata"].get("annotations", {}), 30, 0.2,
        "the restart stamped on the template")
    browser.page("pods")
    seen: set[str] = set()

    def replaced() -> bool:
        rows = pod_rows(browser, "web")
        seen.update(rows - before)
        return len(seen) >= 3 and not rows & before and len(rows) == 3

    # old pods go and new ones come, on the page as it happens
    try:
        browser.until(lambda d: replaced(), "every web pod replaced on the page", 180)
    except TimeoutException:
        raise AssertionError(f"the page lists {sorted(pod_rows(browser, 'web'))} (before: "
                             f"{sorted(before)}); the API holds:\n{cluster.describe('web')}"
                             ) from None
    assert still_same_document(browser)
    browser.shoot("pods-restarted")


def test_a_pods_page_tails_its_log(cluster, browser):
    name = sorted(wait_until(lambda: api_pods(cluster, "web"), 120, 0.5, "a web pod"))[0]
    browser.login(cluster.ui_url(), cluster.token)
    browser.page("pods")
    browser.row(name).find_element(By.CSS_SELECTOR, "a").click()
    pod = name.split("/")[1]
    browser.until(lambda d: f"serving {pod} on :8080" in browser.visible("#log-tail").text,
                  "the pod's first log line in the tail", 60)
    browser.shoot("pod")


def test_drain_a_node_from_the_page(cluster, browser):
    browser.login(cluster.ui_url(), cluster.token)
    browser.page("nodes")
    try:
        browser.act("n2", "drain")
        browser.until(lambda d: "SchedulingDisabled" in browser.cell("n2", "status"),
                      "n2 shown SchedulingDisabled", 60)
        assert cluster.client.get("Node", "n2", namespace=None)["spec"].get("unschedulable")

        def all_on_n1() -> bool:
            pods = cluster.running_pods("app=web")
            return len(pods) == 3 and {p["spec"]["nodeName"] for p in pods} == {"n1"}
        wait_until(all_on_n1, 180, 0.5, "web's pods evicted from n2 and running on n1")
        browser.shoot("nodes-drained")
    finally:
        browser.act("n2", "uncordon")
    browser.until(lambda d: "SchedulingDisabled" not in browser.cell("n2", "status"),
                  "n2 schedulable again", 60)


BAD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad
spec:
  replicas: -3
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers: [{name: app, image: coxswain/demo:latest}]
"""


def test_a_failed_apply_shows_its_field_errors(cluster, browser):
    browser.login(cluster.ui_url(), cluster.token)
    browser.page("apply")
    box = browser.visible("#manifest")
    box.clear()
    box.send_keys(BAD)
    error = '.field-error[data-field="spec.replicas"]'
    browser.clickable("#dry-run").click()
    shown = browser.visible(error)
    assert shown.text
    browser.clickable("#apply").click()
    browser.until(EC.staleness_of(shown), "the dry run's errors replaced by the apply's")
    browser.until(lambda d: browser.visible(error).text, "the apply's error under spec.replicas")
    browser.shoot("apply-errors")
    with pytest.raises(ApiError) as e:
        cluster.client.get("Deployment", "bad")
    assert e.value.code == 404


def test_the_page_carries_on_when_its_master_dies(cluster, browser):
    browser.login(cluster.ui_url(), cluster.token)
    browser.page("pods")
    first = browser.visible("#conn").get_attribute("data-master")
    cluster.kill_master(first)
    try:
        # the dashboard moves to another master's /ui/ with the same view; the session
        # cookie (per host, sealed with a key every master derives) keeps it logged in
        browser.until(lambda d: (c := d.find_element(By.CSS_SELECTOR, "#conn"))
                      and c.get_attribute("data-master") not in ("", first)
                      and c.get_attribute("data-state") == "live",
                      "the page live on another master", 60)
        assert browser.driver.current_url.endswith("/ui/#/pods")
        same_document(browser)
        cluster.apply(deployment("after", 1))
        browser.until(lambda d: pod_rows(browser, "after"),
                      "a pod created after the failover listed live", 120)
        assert still_same_document(browser)
        browser.shoot("pods-after-failover")
    finally:
        up(cluster.dir)  # starts the killed master again
        cluster.client.delete("Deployment", "after")


# ---- security ---------------------------------------------------------------

# In the page, with its session cookie and CSRF token (from /ui/session): the
# request the scale button would send; resolves to [HTTP status, body].
ACTION_POST = """
const done = arguments[arguments.length - 1];
(async () => {
  const s = await (await fetch('/ui/session')).json();
  const r = await fetch('/ui/actions/scale', {method: 'POST', headers: {
      'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf},
    body: JSON.stringify({resource: 'deployments', namespace: 'default', name: 'web',
                          replicas: 1})});
  done([r.status, await r.text()]);
})().catch(e => done(String(e)));
"""

def test_a_view_only_user_sees_no_actions_and_the_server_refuses_them(cluster, browser):
    browser.login(cluster.ui_url(), cluster.view_only_token())
    for name in ("workloads", "pods"):
        browser.page(name)
        browser.row("default/web" if name == "workloads" else sorted(api_pods(cluster, "web"))[0])
        assert not browser.all("[data-action]"), f"action buttons on {name}"
    browser.page("nodes")  # `view` does not cover nodes: the API's refusal is shown
    browser.until(lambda d: "forbidden" in d.find_element(By.CSS_SELECTOR, "main").text,
                  "the nodes list refused")
    assert not browser.all("[data-action]")
    # the same session, posting the scale action itself: refused
    status, body = browser.driver.execute_async_script(ACTION_POST)
    assert status == 403, body
    assert "ui-viewer" in body and "CSRF" not in body  # RBAC said no, not the CSRF check
    assert cluster.client.get("Deployment", "web")["spec"]["replicas"] == 3


def test_a_list_answered_too_many_requests_is_shown_and_loaded_after_retry_after(
        cluster, browser):
    """A 429 (the user's requests in flight at the limit) is transient: the
    page says so, asks again after ``Retry-After`` and shows the list."""
    token = cluster.view_only_token("ui-busy")
    api = cluster.masters()[0].api
    browser.login(cluster.ui_url(0), token)
    one = Client([api], token, timeout=10, ca_file=cluster.ca_file)

    def refused() -> bool:
        try:
            one.list("Service", namespace="default")
        except TooManyRequests:
            return True
        return False
    try:
        with held_requests(api, token, cluster.ca_file,
                           ApiConfig().max_requests_inflight_per_client):
            wait_until(refused, 30, 0.2, "the user's requests in flight at the limit")
            browser.clickable('[data-page="services"]').click()
            browser.until(lambda d: "Too many requests in flight" in
                          d.find_element(By.CSS_SELECTOR, "main").text, "the 429 shown")
        browser.row("default/kubernetes", timeout=30)  # loaded again once the slots are free
        assert "Too many requests" not in browser.driver.find_element(By.CSS_SELECTOR, "main").text
    finally:
        one.close()


def test_secret_values_never_reach_the_page(cluster, browser):
    value = "s3cr3t-value-the-page-must-not-show"
    cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ui-secret"},
                   "stringData": {"password": value}})
    encoded = base64.b64encode(value.encode()).decode()
    browser.login(cluster.ui_url(), cluster.token)
    seen: dict[str, list[str]] = {}
    for name in ("cluster", "nodes", "workloads", "pods", "services", "events", "config"):
        browser.page(name)
        seen[name] = [browser.source(), *browser.received()]
    assert "password" in browser.row("default/ui-secret").text  # listed, with its keys
    assert any("ui-secret" in text for text in seen["config"][1:])  # responses are captured
    for name, texts in seen.items():
        for text in texts:
            assert value not in text and encoded not in text, f"the Secret's value on {name}"

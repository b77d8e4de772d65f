"""The operator console in a real browser (Debian's Chromium, headless, via Playwright) over
the five services as processes: a supervisor marks a roster and finalizes, Force update
shows by scope only, an operator builds a stay's January claim from the charge worklist
and downloads its 837I.

Set CONSOLE_SCREENSHOTS=<folder> to keep screenshots of the pages visited."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from common.testing.messages import bearer, eventually
from common.testing.processes import ServiceProcess, Suite, free_port
from common.testing.scenarios import (
    LeaveOfAbsence,
    member_event,
    retarget,
    run_stay,
    sample,
)
from common.testing.tokens import TEST_JWT_SECRET
from common.testing.x12 import parse_interchange

from .conftest import MANUAL_BUILD_TENANT

pytestmark = pytest.mark.e2e

TENANT = "demo-bh"
CHROMIUM = "/usr/bin/chromium"
SUPERVISOR = ["clinical.group-session.read", "clinical.attendance.write", "billing.claim.read"]
FORCE = [*SUPERVISOR, "clinical.attendance.write.force", "billing.claim.write"]
OPERATOR = [
    "billing.claim.read",
    "billing.claim.write",
    "clinical.encounter.read",
    "clinical.encounter.write",
]
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


@dataclass
class ConsoleProcess(ServiceProcess):
    """The console as one more process, started and probed as the services are."""

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "console", *args]


@pytest.fixture(scope="module")
def console_url(suite: Suite, tmp_path_factory: Any) -> Iterator[str]:
    env = {
        **os.environ,
        "JWT_SECRET": TEST_JWT_SECRET,
        "LOG_JSON": "true",
        "GRACEFUL_TIMEOUT_SECONDS": "5",
        "ATTENDANCE_URL": suite.url("attendance"),
        "STAYS_URL": suite.url("stays"),
        "CHARGES_URL": suite.url("charges"),
        "CLAIMS_URL": suite.url("claims"),
        "EDI_GATEWAY_URL": suite.url("edi-gateway"),
    }
    process = ConsoleProcess(
        name="console",
        port=free_port(),
        log_path=tmp_path_factory.mktemp("console-logs") / "console.log",
        env=env,
    )
    process.start()
    try:
        deadline = time.monotonic() + 30
        while not process.ready():
            assert process.process is not None and process.process.poll() is None, process.logs()[
                -3000:
            ]
            assert time.monotonic() < deadline, "console not ready:\n" + process.logs()[-3000:]
            time.sleep(0.2)
        yield process.base_url
    finally:
        code = process.stop()
    assert code in (0, -15), process.logs()[-3000:]
    assert '"service_stopped"' in process.logs()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def new_page(
    browser: Browser, console_url: str
) -> AsyncIterator[Callable[[], Coroutine[Any, Any, Page]]]:
    contexts = []

    async def open_page() -> Page:
        # A tablet in landscape.
        context = await browser.new_context(
            base_url=console_url, viewport={"width": 1180, "height": 820}, accept_downloads=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return await context.new_page()

    yield open_page
    for context in contexts:
        await context.close()


async def sign_in(page: Page, token: str) -> None:
    await page.goto("/signin")
    await page.get_by_label("Access token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# Every control a user can reach has an accessible name (a label, aria-label or text),
# and the page fits the tablet's width without scrolling sideways.
USABILITY = """() => {
  const unnamed = [];
  const controls = document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, a[href]');
  for (const el of controls) {
    const labels = el.labels ? [...el.labels].map(l => l.textContent).join(' ') : '';
    const name = [el.getAttribute('aria-label'), labels, el.textContent, el.getAttribute('title'),
                  el.type === 'submit' ? el.value : ''].join(' ').trim();
    if (!name && !el.getAttribute('aria-labelledby')) unnamed.push(el.outerHTML.slice(0, 160));
  }
  return {unnamed, overflow: document.documentElement.scrollWidth - window.innerWidth,
          lang: document.documentElement.lang, skip: !!document.querySelector('a.skip')};
}"""


async def usable(page: Page) -> None:
    found = await page.evaluate(USABILITY)
    assert found["unnamed"] == [], f"controls without an accessible name on {page.url}"
    assert found["overflow"] <= 0, f"{page.url} scrolls sideways on a tablet"
    assert found["lang"] and found["skip"], "a page language and a skip link"


async def shot(page: Page, name: str) -> None:
    """Every main page the tests visit is checked for usability, then kept as a screenshot
    when asked (CONSOLE_SCREENSHOTS)."""
    await usable(page)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def schedule_session(
    publish: Callable[..., Coroutine[Any, Any, None]], run: str, day: date, size: int
) -> tuple[str, list[str], str]:
    """Reference data and a scheduled session in through the feeds (as the scenarios do)."""
    members = [f"m-{run}-{i}" for i in range(1, size + 1)]
    reference = [
        retarget(sample("ehr.facility.upserted.v1"), TENANT, f"{run}-fac"),
        retarget(sample("ehr.provider.upserted.v1"), TENANT, f"{run}-prov"),
        *[
            member_event(TENANT, m, f"{run}-{m}", payer_id="il-medicaid", diagnoses=["F332"])
            for m in members
        ],
    ]
    scheduled = retarget(sample("scheduling.group_session.scheduled.v1"), TENANT, f"{run}-gs")
    data = scheduled["data"]
    data["session_id"] = f"gs-{run}"
    data["session_date"] = day.isoformat()
    data["roster"] = [{"member_id": m, "initial_status": None} for m in members]
    await publish(*reference)
    await publish(scheduled)
    return data["session_id"], members, data["supervisors"][0]["provider_id"]


async def open_when_there(page: Page, path: str, seconds: float = 30) -> None:
    """The feed is asynchronous: reload until the page is no longer a 404."""
    deadline = time.monotonic() + seconds
    while True:
        response = await page.goto(path)
        if response is not None and response.status == 200:
            return
        assert time.monotonic() < deadline, f"{path} never appeared"
        await page.wait_for_timeout(300)


def buttons_of(page: Page, subject: str) -> Any:
    return page.locator(f'[aria-label="Set attendance of {subject}"] button')


async def test_supervisor_marks_the_roster_finalizes_and_force_update_follows_the_scope(
    new_page: Callable[[], Coroutine[Any, Any, Page]],
    publish: Callable[..., Coroutine[Any, Any, None]],
    token: Callable[..., str],
) -> None:
    run = uuid.uuid4().hex[:8]
    # Tomorrow at the tenant: not over yet, so only finalize closes it (no auto-close).
    day = datetime.now(ZoneInfo("America/Chicago")).date() + timedelta(days=1)
    session_id, members, supervisor = await schedule_session(publish, run, day, 4)

    page = await new_page()
    await sign_in(page, token(tenant=TENANT, scopes=SUPERVISOR, subject="supervisor-1"))
    await open_when_there(page, f"/group-sessions/{session_id}")

    # The list, filtered to the session's day, shows its row.
    await page.goto("/group-sessions")
    await page.get_by_label("From").fill(day.isoformat())
    await page.get_by_label("To").fill(day.isoformat())
    await page.get_by_role("button", name="Filter").click()
    row = page.get_by_role("row").filter(has_text="4 scheduled").filter(has_text=supervisor)
    await expect(row).to_have_count(1)
    await shot(page, "group-sessions")
    await row.get_by_role("link").click()

    # Illegal moves are not offered: SCHEDULED -> ATTENDED, ABSENT, LATE only.
    await expect(buttons_of(page, members[0])).to_have_text(["Attended", "Absent", "Late"])
    preview = page.locator("#billing-preview")
    await expect(preview.locator('[data-code="GROUP_UNATTENDED_BILLED"]')).to_be_visible()
    await expect(page.locator("#preview-state")).to_have_text("BLOCKED")
    await shot(page, "group-session-scheduled")

    await page.get_by_role("button", name=f"Mark {supervisor} Attended").click()
    marks = ["Attended", "Late", "Absent", "Attended"]
    for member, mark in zip(members, marks, strict=True):
        await page.get_by_role("button", name=f"Mark {member} {mark}").click()
        await expect(page.locator(f'tr[data-member="{member}"] .badge')).to_have_text(mark)
    # An ATTENDED row offers no ATTENDED (nor SCHEDULED) button.
    attended = await buttons_of(page, members[0]).all_inner_texts()
    assert "Attended" not in attended and "Scheduled" not in attended and attended
    assert "Late" not in await buttons_of(page, members[1]).all_inner_texts()

    await expect(page.locator("#preview-state")).to_have_text("CLEAN")
    await expect(preview.locator('[data-code="GROUP_UNATTENDED_BILLED"]')).to_have_count(0)
    await expect(preview).to_contain_text("3 billable")
    await shot(page, "group-session-marked")
    assert "Force update" not in await page.content()

    await page.get_by_role("button", name="Finalize attendance").click()
    await expect(page.locator("#session-status")).to_have_text("CLOSED")
    await expect(page.get_by_role("button", name=f"Mark {members[0]} Absent")).to_have_count(0)

    # Without the force scope: no Force update anywhere, even once LOCKED.
    deadline = time.monotonic() + 30
    while not await page.locator(".locked-banner").count():
        assert time.monotonic() < deadline, "the session never locked (charges not built)"
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(page.locator(".locked-banner")).to_contain_text("LOCKED")
    assert await page.get_by_text("Force update").count() == 0
    assert await page.locator("details.menu").count() == 0

    # With it: the row's menu holds Force update, asks for a reason, says what it voids.
    forcer = await new_page()
    await sign_in(forcer, token(tenant=TENANT, scopes=FORCE, subject="supervisor-2"))
    await forcer.goto(f"/group-sessions/{session_id}")
    row_menu = forcer.locator(f'tr[data-member="{members[0]}"] details.menu')
    await row_menu.locator("summary").click()
    await expect(row_menu.get_by_role("button", name="Force update to Absent")).to_be_visible()
    await expect(row_menu.get_by_label("Reason for forcing Absent")).to_have_attribute(
        "required", ""
    )
    await expect(row_menu.locator(".warn")).to_contain_text("voids 1 charge(s)")
    await shot(forcer, "group-session-locked-force-menu")


async def test_operator_builds_a_stays_january_claim_and_downloads_its_837i(
    new_page: Callable[[], Coroutine[Any, Any, Page]],
    suite: Suite,
    publish: Callable[..., Coroutine[Any, Any, None]],
    token: Callable[..., str],
) -> None:
    run = uuid.uuid4().hex[:8]
    # This tenant's programs leave cycle claims to the operator, and it sends to the sandbox:
    # the claim is built by the page's Build claim and acknowledged by the clearinghouse.
    tenant = MANUAL_BUILD_TENANT

    def headers(scopes: Sequence[str]) -> dict[str, str]:
        return bearer(token(tenant=tenant, scopes=list(scopes)))

    # SPEC 12 vector 2's stay: Jan 10 - Feb 3, a leave Jan 20 - 23 (three LOA nights).
    await run_stay(
        claims_url=suite.url("claims"),
        publish=publish,
        bearer=headers,
        tenant=tenant,
        run=run,
        program_id="residential",
        admitted=date(2026, 1, 10),
        admit_hour=14,
        leaves=[LeaveOfAbsence("loa-1", date(2026, 1, 20), date(2026, 1, 23))],
        discharged=date(2026, 2, 3),
        discharge_status="01",
        expected_claims=0,
    )
    stay_id = f"stay-{run}"
    reader = headers(("billing.claim.read",))
    async with httpx.AsyncClient(timeout=10) as api:
        seen: dict[str, Any] = {}

        async def all_days_charged() -> list[dict[str, Any]] | None:
            listed = await api.get(
                f"{suite.url('charges')}/v1/charges",
                params={"stay_id": stay_id, "limit": 500},
                headers=reader,
            )
            seen["answer"] = listed.text[:2000]
            # Days charged before the discharge was heard are voided by it.
            items = [c for c in listed.json()["items"] if c["status"] != "VOID"]
            return items if len(items) == 24 else None  # Jan 10 - Feb 2

        try:
            await eventually(all_days_charged, 120)
        except TimeoutError:
            pytest.fail(f"the stay's 24 days were never charged; last answer: {seen}")
        unbuilt = await api.get(
            f"{suite.url('claims')}/v1/claims", params={"stay_id": stay_id}, headers=reader
        )
        assert unbuilt.json()["items"] == [], "no program of this tenant builds by itself"

    page = await new_page()
    await sign_in(page, token(tenant=tenant, scopes=OPERATOR, subject="biller-1"))

    # The worklist, filtered to the stay: its days grouped under the stay header.
    await page.goto("/charges")
    await page.get_by_label("Stay id").fill(stay_id)
    await page.get_by_role("button", name="Filter").click()
    header = page.locator(f'section[data-stay="{stay_id}"]')
    await expect(header).to_contain_text("24 day(s): 21 covered, 3 LOA")
    await shot(page, "charges-stay")

    await header.get_by_role("button", name="Select 2026-01 days").click()
    boxes = header.locator('input[name="day"]')
    checked = [await b.get_attribute("value") for b in await boxes.all() if await b.is_checked()]
    assert checked and all(str(d).startswith("2026-01") for d in checked)
    assert len(checked) == 22  # Jan 10 - 31
    await header.get_by_role("button", name="Build claim").click()

    # The January cycle's claim, built by this click.
    flash = page.locator(".flash")
    await expect(flash).to_contain_text("Build claim for 2026-01-10 to 2026-01-31: 1 built now")
    link = page.get_by_role("link", name="Open claim")
    await expect(link).to_have_count(1)
    await link.click()
    await expect(page.locator("#claim-period")).to_have_text("2026-01-10 to 2026-01-31")
    pcn = (await page.locator("h1").inner_text()).split()[1]

    await page.get_by_role("link", name="Institutional").click()
    await expect(page.locator("main")).to_contain_text("86:A:2")
    await expect(page.locator("main")).to_contain_text("22 day(s): 19 covered + 3 non-covered")
    await shot(page, "claim-institutional")

    # The sandbox answers the file with a 999 and a 277CA: the timeline shows both.
    await page.get_by_role("link", name="Submission & acknowledgments").click()
    timeline = page.locator("main")
    deadline = time.monotonic() + 120
    while True:
        shown = await timeline.inner_text()
        if "999 A (accepted)" in shown and "overall ACCEPTED" in shown:
            break
        assert time.monotonic() < deadline, "no 999 and 277CA for the claim:\n" + shown
        await page.wait_for_timeout(2000)
        await page.reload()
    await expect(page.locator(".timeline li.ack")).not_to_have_count(0)
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download").first.click()
    download = await download_info.value
    assert "837I" in download.suggested_filename
    text = Path(await download.path()).read_text()
    interchange = parse_interchange(text)
    clms = [s for s in interchange.segments("CLM") if s[1] == pcn]
    assert clms and clms[0][5] == "86:A:2"
    assert "BI:74:RD8:20260120-20260122" in text
    await shot(page, "claim-submission")

    # The stay page: admission, the leave, discharge, the per-cycle day calculation.
    await page.goto(f"/stays/{stay_id}")
    await expect(page.locator("#los")).to_contain_text("24 day(s)")
    january = page.get_by_role("row").filter(has_text="2026-01-10 to 2026-01-31")
    cells = await january.get_by_role("cell").all_inner_texts()
    assert cells[1:4] == ["22", "19", "3"], cells
    await shot(page, "stay")

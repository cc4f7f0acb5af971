"""Arabic pages in headless Chromium against a real server on PostgreSQL with the demo
network: each demo role signs in, switches to Arabic and walks their main pages at a phone's
width and a desktop's. Every page is right to left, nothing sticks out sideways, every hours
value and date is isolated (``<bdi>``) so "−7:45 h" does not turn into "h 7:45−", and axe finds
nothing. Screenshots go to test-artifacts/rtl/<role>-<page>-<width>.png."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support import town_today
from tests.web.browser.support import ARTIFACTS, Server, axe_violations, new_page
from timebank import demo, review
from timebank.models import Flag, Member

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SHOTS = ARTIFACTS / "rtl"

# Found in the page itself (no inline script: the pages' CSP refuses it, so this runs
# through the debugging protocol like axe). Each problem is one line of text.
LAYOUT_PROBLEMS = r"""() => {
  const problems = [];
  const root = document.documentElement;
  if (root.dir !== "rtl") problems.push(`<html dir="${root.dir}">, not rtl`);
  if (root.lang !== "ar") problems.push(`<html lang="${root.lang}">, not ar`);
  const width = root.clientWidth;
  if (root.scrollWidth > width + 1)
    problems.push(`the page is ${root.scrollWidth}px wide in a ${width}px window`);
  const classes = (el) => typeof el.className === "string" && el.className.trim()
    ? "." + el.className.trim().split(/\s+/).join(".") : "";
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + classes(el);
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    // Hidden or visually hidden (the 1px screen-reader texts) boxes cannot stick out.
    if (box.width <= 1 || box.height <= 1) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    if (box.left < -1 || box.right > width + 1)
      problems.push(`${name(el)} spans ${Math.round(box.left)}..${Math.round(box.right)}px`
        + ` of ${width}px: ` + JSON.stringify(el.textContent.trim().slice(0, 60)));
  }
  // Hours read in their own direction inside the Arabic sentence only when isolated: inside
  // <bdi> or an element with dir="ltr". Arabic writes "2 س 30 د" (i18n.hours_and_minutes),
  // a negative amount with its sign isolated ("\u2066−7\u2069 س 45 د"); the clock's way is
  // "−7:45 h" (and times of day "13:05").
  const digits = "[0-9\u0660-\u0669]";
  const figure = new RegExp(
    `\u2066?[+\u2212-]?${digits}+(?:[.,\u066b]${digits}+)?\u2069?\\s(?:\u0633|\u062f)(?![\u0621-\u064a])`
    + `(?:\\s${digits}+\\s\u062f(?![\u0621-\u064a]))?`
    + `|[+\u2212-]?${digits}+:${digits}{2}(?::${digits}{2})?(?:\\s?(?:h\\b|Std\\.))?`, "g");
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest("script, style, title, option")) continue;
    for (const match of node.data.matchAll(figure)) {
      const text = match[0];
      // A bare number ("1:30" as an example of input) reads the same either way.
      if (/^[0-9\u0660-\u0669:.,\u066b]+$/.test(text)) continue;
      if (!parent.closest("bdi, body [dir=ltr]")) {
        problems.push(`${JSON.stringify(text)} is not isolated in ${name(parent)}: `
          + JSON.stringify(node.data.trim().slice(0, 80)));
        continue;
      }
      // As displayed: the first digit left of a Latin unit ("−7:45 h"), right of an
      // Arabic one ("2 س 30 د" reads from the right).
      const unit = text.trimEnd().slice(-1);
      if (!/[h.\u0633\u062f]/.test(unit)) continue;
      const at = (i) => { const r = document.createRange(); r.setStart(node, match.index + i);
        r.setEnd(node, match.index + i + 1); return r.getBoundingClientRect(); };
      const first = at(text.search(/[0-9\u0660-\u0669]/)), last = at(text.trimEnd().length - 1);
      if (Math.abs(first.top - last.top) >= 2) continue;  // wrapped: no single line to read
      const leftToRight = /[h.]/.test(unit);
      if (leftToRight ? first.left > last.left : first.left < last.left)
        problems.push(`${JSON.stringify(text)} is displayed reversed in ${name(parent)}`);
    }
  }
  return problems;
}"""


@dataclass(frozen=True)
class Demo:
    password: str
    emails: dict[str, str]
    member: int  # an older migrant who reads Arabic: the manager's member page
    flagged: int  # a member with an open flag


@pytest.fixture(scope="module")
def demo_network(server: Server) -> Demo:
    """The demo network as of the town's today, reviewed so the flag pages have flags."""

    async def seed(s: AsyncSession) -> Demo:
        summary = await demo.seed_demo(s, today=town_today())
        await s.flush()
        await review.run_review(s)
        migrant = await s.scalar(
            select(Member.id).where(Member.language == "ar").order_by(Member.id)  # type: ignore[arg-type]
        )
        flagged = await s.scalar(select(Flag.member_id).order_by(Flag.id))
        assert flagged is not None, "the review raised no flag in the demo"
        return Demo(
            password=summary.logins.password,
            emails=dict(summary.logins.emails),
            member=migrant,  # type: ignore[arg-type]
            flagged=flagged,
        )

    return server.run(seed)


def pages_of(role: str, network: Demo) -> dict[str, str]:
    """The main pages of ``role``: name → path."""
    pages = {
        "home": "/home",
        "statement": "/statement",
        "board": "/board",
        "log-hours": "/exchanges/new",
    }
    if role == "professional":
        pages["assisted"] = "/exchanges/assisted"
    if role == "manager":
        pages |= {
            "members": "/manage/members",
            "member": f"/manage/members/{network.member}",
            "member-statement": f"/members/{network.member}/statement",
            "flags": "/manage/flags",
            "member-flags": f"/manage/flags/members/{network.flagged}",
            "transfers": "/manage/transfers",
            "pool": "/manage/pool",
        }
    return pages


def sign_in_in_arabic(browser: Any, server: Server, network: Demo, role: str) -> Any:
    """Sign in (the form found by its fields, whatever the language) and switch to Arabic
    with the language menu, as a member would: it is stored on the member."""
    page = new_page(browser, server, locale="ar", viewport=DESKTOP)
    page.goto("/login")
    page.locator("#f-email").fill(network.emails[role])
    page.locator("#f-password").fill(network.password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()
    page.select_option("#choose-lang", "ar")
    page.locator("form:has(#choose-lang) button[type=submit]").click()
    page.wait_for_load_state()
    return page


def problems_on(page: Any, shot: str, *, axe: bool) -> list[str]:
    page.wait_for_load_state()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
    found = [f"{shot}: {p}" for p in page.evaluate(LAYOUT_PROBLEMS)]
    if axe:
        found += [f"{shot}: axe {v}" for v in axe_violations(page)]
    return found


@pytest.mark.parametrize("role", demo.LOGIN_ROLES)
def test_arabic_pages_read_right_to_left_and_fit(browser, server, demo_network, role):
    page = sign_in_in_arabic(browser, server, demo_network, role)
    problems: list[str] = []
    for name, path in pages_of(role, demo_network).items():
        for size in (PHONE, DESKTOP):
            page.set_viewport_size(size)
            answer = page.goto(path)
            if answer is None or answer.status != 200:
                problems.append(f"{role} {path}: {answer and answer.status}")
                continue
            # axe once a page (at the phone's width, where a crowded page would show it):
            # its colour and structure rules do not change with the width.
            problems += problems_on(page, f"{role}-{name}-{size['width']}", axe=size is PHONE)
    assert problems == [], "\n".join(problems)


# What the check must catch, on a page of its own (no server, so no CSP to mind here).
BROKEN = """<!doctype html><html dir="ltr" lang="de"><body>
<p>الرصيد: −7:45 h</p>
<p>الرصيد: <bdi dir="rtl">−7:45 h</bdi></p>
<p>الرصيد: <bdi>\u2066−7\u2069 س 45 د</bdi> · <bdi>2 س 30 د</bdi> · <bdi>−7:45 h</bdi></p>
<div style="width: 2000px">too wide</div>
</body></html>"""


def test_the_check_sees_left_to_right_reversed_hours_and_overflow(browser, server):
    page = new_page(browser, server, viewport=PHONE)
    page.set_content(BROKEN)
    found = page.evaluate(LAYOUT_PROBLEMS)
    assert '<html dir="ltr">, not rtl' in found and '<html lang="de">, not ar' in found
    assert any(p.startswith("the page is 2008px wide") for p in found)  # with the margin
    assert any(p.startswith("div spans") for p in found)
    assert any(p.startswith('"−7:45 h" is not isolated in p') for p in found)
    reversed_ = [p for p in found if "displayed reversed" in p]
    assert reversed_ == ['"−7:45 h" is displayed reversed in bdi'], found

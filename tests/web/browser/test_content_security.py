"""The Content-Security-Policy in a real browser: the API reference at ``/schema`` and the
pages of a visitor, a member and the manager load and work with the policy active, without a
single violation reported, and without asking any other site for anything (the reference
used to be blank offline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.web.browser.support import Server, new_page, sign_in, visit
from timebank.members import NewMember, create_member

pytestmark = pytest.mark.browser

PASSWORD = "browser password 3"

# Runs before any script of the page (init scripts are outside the page's policy): keeps the
# violations the page reports, and stands in for the print dialog, which headless Chromium
# would otherwise open.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
window.__printed = 0;
window.print = () => { window.__printed += 1; };
"""


@dataclass(frozen=True)
class People:
    manager: int
    senior: int


@pytest.fixture(scope="module")
def people(server: Server) -> People:
    async def seed(s: AsyncSession) -> People:
        async def add(name: str, role: str, email: str) -> int:
            new = NewMember(name=name, role=role, email=email, password=PASSWORD)
            return (await create_member(s, new, actor=None)).id  # type: ignore[return-value]

        return People(
            manager=await add("Clara Chefin", "manager", "clara@example.org"),
            senior=await add("Gustav Greis", "senior", "gustav@example.org"),
        )

    return server.run(seed)


@dataclass
class Watched:
    page: Any
    console: list[str]
    elsewhere: list[str]

    def violations(self) -> list[str]:
        reported: list[str] = self.page.evaluate("() => window.__violations || []")
        return [*reported, *self.console]

    def goto(self, path: str) -> Any:
        answer = self.page.goto(path)
        assert answer.status == 200, path
        policy = answer.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        self.page.wait_for_load_state("load")
        return answer


def watched_page(browser: Any, server: Server) -> Watched:
    page = new_page(browser, server)
    console: list[str] = []
    elsewhere: list[str] = []
    page.on(
        "console",
        lambda m: (
            console.append(m.text)
            if "Content Security Policy" in m.text or "Refused to" in m.text
            else None
        ),
    )

    def only_here(route: Any) -> None:
        # Offline, as the server may well be: anything for another site fails, and is noted.
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_here)
    page.context.add_init_script(WATCH)
    return Watched(page, console, elsewhere)


def test_the_watch_sees_a_violation(browser: Any, server: Server) -> None:
    # Without this, a policy that was never sent would look like a policy never violated.
    watched = watched_page(browser, server)
    watched.goto("/login")
    watched.page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.__ran = true"; document.body.append(s); }"""
    )
    watched.page.wait_for_function("() => window.__violations.length > 0")
    assert watched.page.evaluate("() => window.__ran") is None
    assert any("script-src" in v for v in watched.violations())


def test_the_api_reference_works_offline_under_the_policy(browser: Any, server: Server) -> None:
    watched = watched_page(browser, server)
    watched.goto("/schema")
    page = watched.page
    assert page.get_by_role("heading", level=1).inner_text().startswith("timebank API")
    assert page.locator("article.operation").count() >= 10
    assert page.locator("#schema-ExchangeIn table.fields tbody tr").count() >= 5
    # Its own stylesheet applies (a blank or unstyled page is what a blocked sheet gives).
    assert (
        page.locator("table.fields").first.evaluate("t => getComputedStyle(t).borderCollapse")
        == "collapse"
    )
    page.get_by_role("link", name="ExchangeIn").first.click()
    assert page.url.endswith("#schema-ExchangeIn")
    visit(page, "schema-reference")
    assert watched.violations() == []
    assert watched.elsewhere == []


def test_pages_of_a_visitor_a_member_and_the_manager_obey_the_policy(
    browser: Any, server: Server, people: People
) -> None:
    visitor = watched_page(browser, server)
    visitor.goto("/login")
    assert visitor.violations() == [] and visitor.elsewhere == []

    member = watched_page(browser, server)
    sign_in(member.page, "gustav@example.org", PASSWORD)
    for path in ("/home", f"/members/{people.senior}/statement", "/board", "/requests/new"):
        member.goto(path)
        assert member.violations() == [], path
    assert member.elsewhere == []

    manager = watched_page(browser, server)
    sign_in(manager.page, "clara@example.org", PASSWORD)
    for path in ("/manage", "/manage/members", f"/manage/members/{people.senior}", "/manage/flags"):
        manager.goto(path)
        assert manager.violations() == [], path
    # The login sheet's print button: its script is a file now, so it still prints.
    manager.goto(f"/manage/members/{people.senior}/login-sheet")
    manager.page.get_by_role("button", name="Dieses Blatt drucken").click()
    assert manager.page.evaluate("() => window.__printed") == 1
    assert manager.violations() == []
    assert manager.elsewhere == []

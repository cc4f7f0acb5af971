"""The office's post (issue 9, point 2): a notice for a member without email is due for a
letter, or for a call when it is better said by phone; only the notices named are marked
sent or done; only the network manager handles the post (both databases)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.support import Sessions, World
from timebank import notifications, post
from timebank.db import transaction
from timebank.errors import Forbidden
from timebank.models import Member, Notification


def test_who_gets_a_letter_and_who_a_call() -> None:
    offline = Member(name="Karl", role="senior", phone="0431 1")
    assert post.paper_for(offline, "help_confirmed") == ("due", "none")
    assert post.paper_for(offline, "request_expiring") == ("none", "due")
    no_phone = Member(name="Karl", role="senior")
    assert post.paper_for(no_phone, "request_expiring") == ("due", "none")
    online = Member(name="Vera", role="volunteer", email="vera@example.org", phone="0431 2")
    assert post.paper_for(online, "request_expiring") == ("none", "none")
    gone = Member(name="Gerd", role="senior", active=False)
    assert post.paper_for(gone, "help_confirmed") == ("none", "none")


async def test_an_offline_member_hears_their_own_news_after_their_staff(
    world: World, sessions: Sessions
) -> None:
    async with transaction(sessions) as s:
        karl = await s.get(Member, world.client.id)
        assert karl is not None
        told = await notifications.people_to_tell(s, karl)
        assert [m.id for m in told] == [world.professional.id, world.client.id]
        karl.phone = "0431 12345"
        notice = await notifications.notify(s, karl, kind="help_held", subject="a", body="b")
        assert notice is not None and (notice.letter_status, notice.call_status) == ("none", "due")
        staff = await notifications.notify(s, told[0], kind="help_held", subject="a", body="b")
        assert staff is not None and (staff.letter_status, staff.call_status) == ("none", "none")


async def _tell(sessions: Sessions, member: Member, kind: str = "help_confirmed") -> int:
    async with transaction(sessions) as s:
        row = await s.get(Member, member.id)
        assert row is not None
        notice = await notifications.notify(s, row, kind=kind, subject="Hello", body="News.")
        assert notice is not None and notice.id is not None
        return notice.id


async def test_only_the_notices_named_leave_the_list(world: World, sessions: Sessions) -> None:
    first = await _tell(sessions, world.client)
    emailed = await _tell(sessions, world.volunteer)
    async with transaction(sessions) as s:
        due = await post.post_due(s, world.manager)
        karls = next(n for n in due.letters if n.member.id == world.client.id)
        assert first in karls.ids
        assert all(n.member.id != world.volunteer.id for n in due.letters)
        assert await post.mark_letters_sent(s, world.manager, [first, emailed]) == 1
    later = await _tell(sessions, world.client)  # arrived after the printing
    async with transaction(sessions) as s:
        due = await post.post_due(s, world.manager)
        ids = [i for n in due.letters for i in n.ids]
        assert first not in ids and later in ids
        sent = await s.get(Notification, first)
        assert sent is not None and sent.letter_status == "sent" and sent.letter_sent_at


async def test_calls_are_marked_done(world: World, sessions: Sessions) -> None:
    async with transaction(sessions) as s:
        karl = await s.get(Member, world.client.id)
        assert karl is not None
        karl.phone = "0431 12345"
        s.add(karl)
    notice = await _tell(sessions, world.client, "dispute_opened")
    async with transaction(sessions) as s:
        due = await post.post_due(s, world.manager)
        assert [n.ids for n in due.calls] == [[notice]]
        assert await post.mark_calls_done(s, world.manager, [notice]) == 1
        assert (await post.post_due(s, world.manager)).calls == []
        row = (await s.exec(select(Notification).where(Notification.id == notice))).one()
        assert (row.call_status, row.letter_status) == ("done", "none")


@pytest.mark.parametrize("who", ["professional", "volunteer"])
async def test_only_the_manager_handles_the_post(
    world: World, sessions: Sessions, who: str
) -> None:
    actor = getattr(world, who)
    async with transaction(sessions) as s:
        with pytest.raises(Forbidden):
            await post.post_due(s, actor)
        with pytest.raises(Forbidden):
            await post.mark_letters_sent(s, actor, [1])
        with pytest.raises(Forbidden):
            await post.mark_calls_done(s, actor, [1])

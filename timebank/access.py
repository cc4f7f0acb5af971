"""Who may do what: every authorisation rule of timebank, in one place.

Domain functions call these before they touch anything, so the JSON API, the web pages
and the CLI cannot disagree. ``tests/test_access.py`` walks the matrix.
"""

from __future__ import annotations

from timebank.errors import Forbidden
from timebank.models import Account, Exchange, Member


def is_manager(actor: Member) -> bool:
    return actor.role == "manager" and actor.active


def acts_for(actor: Member, member: Member) -> bool:
    """Staff act for members: a manager for anyone, a professional for the members of
    their own organisation (their clients and colleagues)."""
    if not actor.active:
        return False
    if actor.role == "manager":
        return True
    return (
        actor.role == "professional"
        and actor.organization_id is not None
        and actor.organization_id == member.organization_id
    )


def require_manager(actor: Member) -> None:
    if not is_manager(actor):
        raise Forbidden("only the network manager may do this")


def require_active(actor: Member) -> None:
    if not actor.active:
        raise Forbidden("this member is no longer active")


def can_see_member(actor: Member, member: Member) -> bool:
    return actor.id == member.id or acts_for(actor, member)


def require_see_member(actor: Member, member: Member) -> None:
    if not can_see_member(actor, member):
        raise Forbidden("you may only see your own details")


def can_see_account(actor: Member, account: Account, owner: Member | None) -> bool:
    """Members see their own account; staff the accounts of those they act for;
    professionals their organisation's account; the pool and everything else, managers."""
    if is_manager(actor):
        return True
    if account.kind == "member" and owner is not None:
        return can_see_member(actor, owner)
    if account.kind == "organization":
        return actor.role == "professional" and actor.organization_id == account.organization_id
    return False


def require_see_account(actor: Member, account: Account, owner: Member | None) -> None:
    if not can_see_account(actor, account, owner):
        raise Forbidden("you may only see your own account")


def entry_confirms_at_once(actor: Member, giver: Member, receiver: Member) -> bool:
    """May ``actor`` enter this exchange, and is it confirmed as it is entered?

    The giver logs their own help: pending until the receiver confirms. Staff who act for
    the receiver enter it on their behalf: confirmed at once (the receiver's account pays,
    and the staff member speaks for them). Staff who act only for the giver enter it
    pending, like the giver would.
    """
    require_active(actor)
    if actor.id != giver.id and acts_for(actor, receiver):
        return True
    if actor.id == giver.id or acts_for(actor, giver):
        return False
    if actor.id == receiver.id:
        raise Forbidden("the person who gave the help logs it; you confirm it afterwards")
    raise Forbidden("you may only log help you gave yourself or enter it for your clients")


def require_decide_exchange(actor: Member, exchange: Exchange, receiver: Member) -> None:
    """The receiver confirms or rejects; staff who act for the receiver may do it for them."""
    require_active(actor)
    if actor.id == exchange.receiver_id or acts_for(actor, receiver):
        return
    raise Forbidden("only the person who received the help can confirm or reject it")

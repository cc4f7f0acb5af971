"""Who may do what: every authorisation rule of timebank, in one place.

Domain functions call these before they touch anything, so the JSON API, the web pages
and the CLI cannot disagree. ``tests/test_access.py`` walks the matrix.
"""

from __future__ import annotations

from timebank.errors import Forbidden
from timebank.models import Account, Exchange, HelpRequest, Member


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


def require_staff(actor: Member) -> None:
    """Professionals and managers enter help on behalf of others."""
    if not (actor.active and actor.is_staff):
        raise Forbidden("only staff enter help on behalf of others")


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


def on_the_givers_side(actor: Member, giver: Member) -> bool:
    """The giver themselves, or a professional colleague of a professional giver: a
    confirmation by either would pay the giver's side out of the receiver's account
    without the receiver doing anything (issue 8)."""
    if actor.id == giver.id:
        return True
    return (
        actor.role == "professional"
        and giver.role == "professional"
        and actor.organization_id is not None
        and actor.organization_id == giver.organization_id
    )


def can_confirm_exchange(actor: Member, giver: Member, receiver: Member) -> bool:
    """Who may confirm help, so that the receiver's account pays the giver: the receiver;
    staff who act for the receiver (the manager for everyone) — but never the giver, and
    never a professional's colleague for the help that professional gave their own
    client. Such help waits for the receiver or the manager."""
    if not actor.active:
        return False
    if actor.id == receiver.id:
        return True
    return acts_for(actor, receiver) and not on_the_givers_side(actor, giver)


def may_confirm_by_silence(giver: Member, receiver: Member) -> bool:
    """The network may confirm long-pending help automatically, but not the help of staff
    who act for the receiver: that would be the giver's word alone again."""
    return not acts_for(giver, receiver)


def entry_confirms_at_once(actor: Member, giver: Member, receiver: Member) -> bool:
    """May ``actor`` enter this exchange, and is it confirmed as it is entered?

    The giver logs their own help: pending until the receiver confirms — staff and the
    manager too, for help they gave themselves. Staff who act for the receiver enter
    someone else's help on the receiver's behalf: confirmed at once (the receiver's account
    pays, the staff member speaks for them, and the entry is marked assisted), unless they
    could not confirm it either (a colleague's help to their own client). Staff who act
    only for the giver enter it pending, like the giver would.
    """
    require_active(actor)
    if actor.id != giver.id and acts_for(actor, receiver):
        return can_confirm_exchange(actor, giver, receiver)
    if actor.id == giver.id or acts_for(actor, giver):
        return False
    if actor.id == receiver.id:
        raise Forbidden("the person who gave the help logs it; you confirm it afterwards")
    raise Forbidden("you may only log help you gave yourself or enter it for your clients")


def require_decide_exchange(actor: Member, exchange: Exchange, receiver: Member) -> None:
    """The receiver confirms or rejects; staff who act for the receiver may do it for them.
    A confirmation must pass ``can_confirm_exchange`` as well (never the giver's own)."""
    require_active(actor)
    if actor.id == exchange.receiver_id or acts_for(actor, receiver):
        return
    raise Forbidden("only the person who received the help can confirm or reject it")


def require_answer_dispute(actor: Member, giver: Member) -> None:
    """The giver (or staff acting for them) answers a dispute about their help: accepts the
    receiver's corrected length. Everything else about a dispute is the manager's."""
    if not can_act_as(actor, giver):
        raise Forbidden("only the person who gave the help can accept a corrected length")


# --- board: help requests, responses, offers, matching ---------------------------------------


def can_act_as(actor: Member, member: Member) -> bool:
    """The member themselves, or staff who act for them."""
    return actor.active and (actor.id == member.id or acts_for(actor, member))


def require_request_help_for(actor: Member, requester: Member) -> None:
    """Anyone may ask for help for themselves (an hour given is an hour that can be
    received); staff ask on behalf of the members they act for."""
    if not can_act_as(actor, requester):
        raise Forbidden("you may only ask for help for yourself or for your clients")
    if not requester.active:
        raise Forbidden("this member is no longer active")


def require_respond_to_request(actor: Member, request: HelpRequest) -> None:
    require_active(actor)
    if actor.id == request.member_id:
        raise Forbidden("you cannot offer help on your own request")


def require_manage_request(actor: Member, requester: Member) -> None:
    """Accepting a helper, closing or withdrawing: the requester, or staff acting for them."""
    if not can_act_as(actor, requester):
        raise Forbidden("only the person who asked for help, or staff for them, may do this")


def can_see_request_contact(actor: Member, request: HelpRequest, requester: Member) -> bool:
    """How to reach the requester (name, phone, best time to call): the office always; the
    chosen helper once they are chosen, and nobody else before (issue 9, point 3). The
    requester's own side sees what they gave as theirs, not as someone to reach."""
    if is_manager(actor):
        return True
    return actor.active and request.helper_id is not None and actor.id == request.helper_id


def can_see_helper_contact(actor: Member, request: HelpRequest, requester: Member) -> bool:
    """How to reach the chosen helper: the requester and staff acting for them, the office;
    only once a helper is chosen."""
    return request.helper_id is not None and (is_manager(actor) or can_act_as(actor, requester))


def require_suggest_helpers(actor: Member, requester: Member) -> None:
    """Suggested helpers reveal others' workload, so only staff acting for the requester
    (the manager for everyone) see them."""
    if not (actor.is_staff and acts_for(actor, requester)):
        raise Forbidden("only staff acting for this member see suggested helpers")


def require_offer_for(actor: Member, member: Member) -> None:
    if not can_act_as(actor, member):
        raise Forbidden("you may only manage your own offers or those of your clients")
    if not member.active:
        raise Forbidden("this member is no longer active")


def require_manage_offer(actor: Member, owner: Member) -> None:
    if not can_act_as(actor, owner):
        raise Forbidden("you may only manage your own offers or those of your clients")


def require_board_reader(actor: Member) -> None:
    require_active(actor)


def require_has_clients(actor: Member) -> None:
    """A professional's own clients list and adding a client without a login: the members
    of their organisation are theirs to look after (issue 9, point 6). The manager acts for
    everyone through the members list."""
    if not (actor.active and actor.role == "professional" and actor.organization_id is not None):
        raise Forbidden("only staff of a member organisation look after clients")


# --- flags (issue 4: the balance review and the manager's follow-up) -----------------------


def can_manage_flags(actor: Member) -> bool:
    """Flags describe how a member gives and receives: only the network manager sees and
    handles them (the member sees a friendly note about their own, never the flag)."""
    return is_manager(actor)


def require_manage_flags(actor: Member) -> None:
    if not can_manage_flags(actor):
        raise Forbidden("only the network manager may see and handle flags")


def can_see_job_runs(actor: Member) -> bool:
    return is_manager(actor)


def require_edit_network_settings(actor: Member) -> None:
    """Review thresholds, per-role policy and job schedules: the network manager only."""
    if not is_manager(actor):
        raise Forbidden("only the network manager may change the network settings")

"""JSON API v1: thin handlers that parse input, call a domain function and shape output."""

from __future__ import annotations

from litestar import get
from sqlmodel.ext.asyncio.session import AsyncSession

from timebank import ledger
from timebank.models import Member, MeOut


@get("/api/v1/me", summary="The calling member and their balance")
async def me(db: AsyncSession, actor: Member) -> MeOut:
    account = await ledger.account_of_member(db, actor.id)  # type: ignore[arg-type]
    return MeOut(
        id=actor.id,  # type: ignore[arg-type]
        name=actor.name,
        role=actor.role,
        account_id=account.id,  # type: ignore[arg-type]
        balance_minutes=account.balance_minutes,
    )


ROUTES = [me]

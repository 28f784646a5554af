"""The admin's side of the channels: bind a phone number or Telegram chat to an officer."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from backend.audit.service import actor_of
from backend.auth.service import Principal
from backend.authority import Authority
from backend.channels.models import ChannelSender
from backend.channels.service import (
    LinkError,
    link,
    links_of,
    normalize_phone,
    normalize_telegram,
    unlink,
)
from backend.deps import RuntimeDep, SessionDep, require_role
from schemas.channels import SenderLinkCreate, SenderLinkPublic, SenderLinksPublic
from schemas.enums import Role
from schemas.errors import problem_responses

router = APIRouter(
    prefix="/api/v1/officers",
    tags=["channels"],
    responses=problem_responses(400, 401, 403, 404, 422),
)
Admin = Annotated[Principal, require_role(Role.ADMIN)]
Nrp = Annotated[str, Path(min_length=1, max_length=18, pattern=r"^[0-9A-Za-z.-]+$")]


def address_of(phone: str | None, telegram: str | None, country: str) -> tuple[str, str]:
    """The sender kind and normalised address a request names; LinkError if not exactly one."""
    if (phone is None) == (telegram is None):
        raise LinkError("phone", "give exactly one of phone and telegram")
    if phone is not None:
        phone = normalize_phone(phone, country)
        if phone is None:
            raise LinkError("phone", "not a phone number (e.g. 081234567890 or +6281234567890)")
        return "phone", phone
    assert telegram is not None
    chat = normalize_telegram(telegram)
    if chat is None:
        raise LinkError("telegram", "not a Telegram chat id (digits, e.g. 38057730)")
    return "telegram", chat


def _public(sender: ChannelSender, nrp: str) -> SenderLinkPublic:
    return SenderLinkPublic(
        kind="telegram" if sender.kind == "telegram" else "phone",
        address=sender.address,
        nrp=nrp,
        bound_by=sender.bound_by,
        bound_at=sender.bound_at.isoformat(),
    )


def _refused(err: LinkError) -> HTTPException:
    return HTTPException(err.status, detail={"field": err.field, "reason": err.reason})


@router.post("/{nrp}/senders", status_code=201, response_model=SenderLinkPublic)
def create_sender_link(
    nrp: Nrp, body: SenderLinkCreate, principal: Admin, session: SessionDep, rt: RuntimeDep
) -> SenderLinkPublic:
    """Bind a phone number or Telegram chat to an officer of your area (audited)."""
    try:
        kind, address = address_of(body.phone, body.telegram, rt.settings.phone_country_code)
        sender = link(
            session=session,
            authority=Authority.of(principal),
            actor=actor_of(principal),
            now=rt.clock.now(),
            nrp=nrp,
            kind=kind,
            address=address,
        )
    except LinkError as err:
        raise _refused(err) from None
    return _public(sender, nrp)


@router.get("/{nrp}/senders", response_model=SenderLinksPublic)
def read_sender_links(nrp: Nrp, principal: Admin, session: SessionDep) -> SenderLinksPublic:
    """The phone numbers and Telegram chats bound to an officer of your area."""
    rows = links_of(session=session, authority=Authority.of(principal), nrp=nrp)
    return SenderLinksPublic(data=[_public(r, nrp) for r in rows], count=len(rows))


@router.delete("/{nrp}/senders/{kind}/{address}", status_code=204)
def delete_sender_link(
    nrp: Nrp,
    kind: Annotated[str, Path(pattern=r"^(phone|telegram)$")],
    address: Annotated[str, Path(min_length=1, max_length=20, pattern=r"^-?[0-9]+$")],
    principal: Admin,
    session: SessionDep,
    rt: RuntimeDep,
) -> None:
    """Forget a binding (the number changed hands); audited."""
    authority = Authority.of(principal)
    if not any(
        r.kind == kind and r.address == address
        for r in links_of(session=session, authority=authority, nrp=nrp)
    ):
        raise _refused(LinkError("address", f"no {kind} {address} bound to {nrp}", 404))
    unlink(
        session=session,
        authority=authority,
        actor=actor_of(principal),
        now=rt.clock.now(),
        kind=kind,
        address=address,
    )

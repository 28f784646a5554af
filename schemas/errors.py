"""Error bodies: every refusal names the field at fault and the reason."""

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    """What was wrong, and with which field."""

    field: str
    reason: str


class ProblemResponse(BaseModel):
    """The body of a 4xx/5xx answer from the read and action APIs."""

    detail: Problem


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error status codes."""
    meaning = {
        400: "the body is not JSON",
        401: "missing, wrong, revoked or expired credential",
        403: "the credential may not do this, or the area is outside its scope",
        404: "no such resource (in your area)",
        409: "the resource changed meanwhile, or the step is not allowed from its state",
        422: "a field is missing or invalid",
        423: "the account is locked after repeated failed logins",
        429: "too many failed sign-ins from this address; see Retry-After",
        503: "a part of the server is down",
    }
    return {c: {"description": meaning[c], "model": ProblemResponse} for c in codes}

"""Area codes on the wire: a province ("16") or a kabupaten ("16.08"), in ASCII digits only."""

from typing import Annotated

from pydantic import Field

# ASCII on purpose: `\d` also matches Arabic-Indic and other digits ("١٦"), which no region
# code contains. backend.areas.is_area_code checks the same pattern; the API's models use it too.
AREA_CODE_PATTERN = r"^[0-9]{2}(\.[0-9]{2})?$"
AREA_CODE_REASON = "not a province (16) or kabupaten (16.08) code"

AreaCode = Annotated[
    str,
    Field(
        pattern=AREA_CODE_PATTERN,
        description="province (16) or kabupaten (16.08) code; none: national",
        examples=["16.08"],
    ),
]

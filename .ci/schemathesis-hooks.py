"""Schemathesis hooks for the tenant API (loaded by .ci/schemathesis).

They teach the generator the three rules of the API that JSON Schema cannot
state, each documented in the OpenAPI document; everything else is generated
and checked as the schema says.

- An Idempotency-Key is a fresh random value per request: a client that reuses
  one for another request is refused with 422, by design. (Malformed keys, the
  negative cases, are sent as drawn.)
- A contract's end_date does not lie before its start_date.
- An uploaded document is a PDF or a photo, recognised by its content.
"""

import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"[!-~]{1,255}")
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _positive(case) -> bool:
    meta = getattr(case, "meta", None)
    try:
        return bool(meta and meta.generation.mode.is_positive)
    except AttributeError:
        return False


def _is_file(value) -> bool:
    return isinstance(value, (bytes, bytearray)) or type(value).__name__ == "Binary"


@schemathesis.hook
def before_call(context, case, kwargs):
    # A well-formed key becomes a fresh one; a malformed one (a negative case) stays as drawn.
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and VALID_KEY.fullmatch(key):
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    if not isinstance(case.body, dict):
        return
    # A drawn file (bytes, or schemathesis' Binary) becomes a real PDF. Anything
    # else in `file` (a negative case: text, a number) stays as drawn.
    if case.operation.path.endswith("/documents") and _is_file(case.body.get("file")):
        case.body["file"] = PDF
    if not _positive(case):
        return
    start, end = case.body.get("start_date"), case.body.get("end_date")
    if isinstance(start, str) and isinstance(end, str) and end < start:
        case.body["start_date"], case.body["end_date"] = end, start


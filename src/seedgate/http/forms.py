"""Form request bodies: `multipart/form-data` (the openai SDK sends every create as one)
and `application/x-www-form-urlencoded`."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File, FormParser, parse_options_header

from seedgate.domain.errors import ErrorKind, GatewayError
from seedgate.http.plumbing import MAX_UPLOAD_BYTES

MULTIPART = "multipart/form-data"
URLENCODED = "application/x-www-form-urlencoded"
MAX_FIELDS = 64


@dataclass(slots=True)
class Form:
    """Text fields with all their values, in order (a name may repeat), and files."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def add(self, name: str, value: str) -> None:
        self.fields.setdefault(name, []).append(value)


def is_form(content_type: str | None) -> bool:
    return content_type is not None and content_type.lower().startswith((MULTIPART, URLENCODED))


def parse_form(body: bytes, content_type: str) -> Form:
    """Text fields and uploaded files (kept in memory: the body is already bounded)."""
    if len(body) > MAX_UPLOAD_BYTES:
        raise _bad(f"The request body is larger than {MAX_UPLOAD_BYTES >> 20} MB.")
    if content_type.lower().startswith(URLENCODED):
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True)
        except UnicodeDecodeError as exc:
            raise _bad(f"The form body is not UTF-8: {exc}") from exc
        form = Form()
        for name, value in pairs:
            form.add(name, value)
        return form
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    if not boundary:
        raise _bad("The multipart/form-data body has no boundary in its content type.")
    form = Form()

    def on_field(item: Field) -> None:
        form.add(item.field_name.decode(), (item.value or b"").decode())

    def on_file(item: File) -> None:
        assert item.field_name is not None
        item.file_object.seek(0)
        form.files[item.field_name.decode()] = item.file_object.read()

    parser = FormParser(MULTIPART, on_field, on_file, boundary=boundary, config={
        "MAX_MEMORY_FILE_SIZE": MAX_UPLOAD_BYTES, "MAX_FIELDS": MAX_FIELDS,
    })
    try:
        parser.write(body)
        parser.finalize()
    except (FormParserError, UnicodeDecodeError, ValueError) as exc:
        raise _bad(f"The form body could not be parsed: {exc}") from exc
    return form


def _bad(message: str) -> GatewayError:
    return GatewayError(ErrorKind.INVALID_JSON, message)

"""Documents sent with replies, drawn for each recipient in their language as they are queued
(`bot.outbound`): one renderer per attachment kind."""

from __future__ import annotations

from dataclasses import dataclass

from bot import statement_doc
from ledger.statements import Statement
from locales import Language
from locales.render import Messages
from locales.replies import Attachment

# WhatsApp takes documents up to 100 MB; a statement is a few hundred kB at most.
MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    filename: str
    mime_type: str
    content: bytes


def render(attachment: Attachment, lang: Language, messages: Messages) -> Document:
    if attachment.kind != "statement" or not isinstance(attachment.data, Statement):
        raise ValueError(f"no renderer for a {attachment.kind!r} attachment")
    fmt: statement_doc.Format = "csv" if attachment.format == "csv" else "pdf"
    content = statement_doc.render(attachment.data, fmt, lang, messages)
    if len(content) > MAX_BYTES:
        raise ValueError(f"{attachment.kind} of {len(content)} bytes is too big to send")
    return Document(statement_doc.filename(attachment.data, fmt), statement_doc.MIME[fmt],
                    content)

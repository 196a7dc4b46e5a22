from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from application.ports.mail import OutgoingEmail


def to_mime(message: OutgoingEmail, *, domain: str | None = None) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = formataddr((message.from_name or "", message.from_address))
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Message-ID"] = make_msgid(domain=domain or message.from_address.rpartition("@")[2])
    mime.set_content(message.text)
    if message.html:
        # multipart/alternative: mail clients show the HTML, others the text.
        mime.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        mime.add_attachment(attachment.data, maintype=maintype, subtype=subtype or "octet-stream",
                            filename=attachment.filename)
    return mime

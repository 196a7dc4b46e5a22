"""What every email carries of the platform: links on its own address (the custom
domain when one is set) and an HTML version with its name, logo and colour."""

from __future__ import annotations

import html
import re

from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.platform.settings import PlatformSettings

_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING = ".,;:!?)"


def site_url(uow: UnitOfWork, services: Services) -> str:
    """Where emailed links point: ``https://<custom_domain>`` once the owner set one (the
    same app answers there), else PATRONAGE_PUBLIC_URL. No trailing slash."""
    domain = uow.settings.get().custom_domain
    return f"https://{domain}" if domain else services.config.public_url.rstrip("/")


def _linked(text: str, colour: str) -> str:
    """Escaped text with its web addresses as links (a sentence's last full stop stays
    outside the link)."""
    out, last = [], 0
    for match in _URL.finditer(text):
        url = match.group(0)
        tail = len(url) - len(url.rstrip(_TRAILING))
        url = url[:len(url) - tail] if tail else url
        out.append(html.escape(text[last:match.start()]))
        out.append(f'<a href="{html.escape(url, quote=True)}" style="color:{colour}">'
                   f"{html.escape(url)}</a>")
        last = match.start() + len(url)
    out.append(html.escape(text[last:]))
    return "".join(out)


def branded_html(text: str, settings: PlatformSettings, site: str) -> str:
    """The plain text as HTML in the platform's colours: its logo (or name) on top, its
    name and address below, and who made the software unless the owner hid that."""
    colour = html.escape(settings.primary_color, quote=True)  # a validated #hex already
    name = html.escape(settings.platform_name)
    if settings.logo_url:
        top = (f'<img src="{html.escape(settings.logo_url, quote=True)}" alt="{name}" '
               'height="40" style="height:40px;border:0">')
    else:
        top = f'<strong style="font-size:20px;color:{colour}">{name}</strong>'
    paragraphs = "".join(
        f'<p style="margin:0 0 16px">{_linked(block.strip(), colour).replace(chr(10), "<br>")}'
        "</p>" for block in re.split(r"\n\s*\n", text.strip()) if block.strip())
    credit = "" if settings.hide_platform_branding else " · Sent with Patronage"
    return (
        '<!doctype html><html><head><meta charset="utf-8"></head>'
        '<body style="margin:0;padding:24px 0;background:#f4f4f5;'
        'font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif">'
        '<table role="presentation" width="100%" cellspacing="0" cellpadding="0"><tr>'
        '<td align="center"><table role="presentation" width="600" cellspacing="0" '
        f'cellpadding="0" style="max-width:600px;background:#ffffff;border-top:4px solid '
        f'{colour}"><tr><td style="padding:24px">{top}</td></tr>'
        '<tr><td style="padding:0 24px 8px;font-size:16px;line-height:1.5;color:#1f2937">'
        f"{paragraphs}</td></tr>"
        '<tr><td style="padding:16px 24px;font-size:12px;color:#6b7280;'
        f'border-top:1px solid #e5e7eb">{name} · <a href="{html.escape(site, quote=True)}" '
        f'style="color:{colour}">{html.escape(site.split("://", 1)[-1])}</a>{credit}'
        "</td></tr></table></td></tr></table></body></html>")

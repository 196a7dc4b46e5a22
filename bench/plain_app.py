"""The baseline: a bare Litestar JSON endpoint, served exactly like the real app."""

from __future__ import annotations

from litestar import Litestar, get


@get("/plain", sync_to_thread=False)
def plain() -> dict[str, bool]:
    return {"ok": True}


app = Litestar(route_handlers=[plain], openapi_config=None)

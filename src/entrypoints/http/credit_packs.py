"""/api/v1/credit-packs (what anyone can buy) and /api/v1/admin/credit-packs."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from application.credits.packs import (
    CreateCreditPack,
    GetCreditPack,
    ListCreditPacks,
    UpdateCreditPack,
)
from application.principal import Principal
from domain.credits.packs import CreditPack
from entrypoints.http.auth import SECURED
from entrypoints.http.dependencies import Actor, App
from entrypoints.http.openapi import OWNER, PUBLIC, problems
from entrypoints.http.schemas.common import set_fields
from entrypoints.http.schemas.credit_packs import CreditPackBody, CreditPackOut, CreditPackPatch

# The public routes need no account: they show only what anyone may see.
VISITOR = Principal.visitor()


def pack_out(p: CreditPack) -> CreditPackOut:
    return CreditPackOut(id=p.id, name=p.name, description=p.description,
                         price=str(p.price.amount), currency=p.price.currency,
                         credits=p.credits, valid_days=p.valid_days, active=p.active)


class CreditPacksController(Controller):
    path = "/api/v1/credit-packs"
    tags = ["credits"]

    @get("/", sync_to_thread=True, responses=PUBLIC)
    def list(self, patronage: App) -> list[CreditPackOut]:
        """The credit packs on sale, cheapest first. Buy one with `POST /api/v1/purchases`
        and `credit_pack_id`; the credits arrive when the payment succeeds."""
        return [pack_out(p) for p in patronage.handle(ListCreditPacks(actor=VISITOR))]

    @get("/{pack_id:uuid}", sync_to_thread=True, responses=problems(400, 404, 422, 503))
    def get(self, pack_id: FromPath[UUID], patronage: App) -> CreditPackOut:
        """One credit pack on sale (owners see the others under /admin/credit-packs)."""
        return pack_out(patronage.handle(GetCreditPack(actor=VISITOR, pack_id=pack_id)))


class AdminCreditPacksController(Controller):
    path = "/api/v1/admin/credit-packs"
    tags = ["admin"]
    security = SECURED

    @get("/", sync_to_thread=True, responses=OWNER)
    def list(self, actor: Actor, patronage: App) -> list[CreditPackOut]:
        """Every credit pack, those no longer sold included."""
        return [pack_out(p) for p in patronage.handle(ListCreditPacks(
            actor=actor, include_inactive=True))]

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True, responses=OWNER)
    def create(self, data: JSONBody[CreditPackBody], actor: Actor, patronage: App
               ) -> CreditPackOut:
        """Sell credits: `credits` for `price`, lasting `valid_days` from the payment
        (or for ever)."""
        fields = {name: getattr(data, name) for name in data.__struct_fields__
                  if name != "currency"}
        return pack_out(patronage.handle(CreateCreditPack(actor=actor, fields=fields,
                                                          currency=data.currency)))

    @patch("/{pack_id:uuid}", sync_to_thread=True, responses=OWNER)
    def update(self, pack_id: FromPath[UUID], data: JSONBody[CreditPackPatch], actor: Actor,
               patronage: App) -> CreditPackOut:
        """Edit a pack; all changes apply or none. Purchases already started get what
        they were shown. `active: false` stops its sale."""
        return pack_out(patronage.handle(UpdateCreditPack(actor=actor, pack_id=pack_id,
                                                          changes=set_fields(data))))

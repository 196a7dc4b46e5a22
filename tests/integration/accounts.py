"""Accounts for HTTP tests: made through the use case, signed in through the API."""

from __future__ import annotations

from typing import Any

from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage

PASSWORD = "a long and unusual passphrase"
Headers = dict[str, str]


def make_user(patronage: Patronage, email: str, role: Role) -> None:
    patronage.handle(CreateUser(actor=Principal.system(), email=email, password=PASSWORD,
                                full_name=email.split("@")[0].title(), role=role))


def login(client: Any, email: str, password: str = PASSWORD) -> Headers:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def account(patronage: Patronage, client: Any, email: str, role: Role) -> Headers:
    make_user(patronage, email, role)
    return login(client, email)

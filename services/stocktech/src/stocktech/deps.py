"""Typed dependencies shared by StockTech's routers."""

from __future__ import annotations

from typing import Annotated

from avelar_kit.auth.dependencies import require_module
from avelar_kit.auth.principal import Principal
from avelar_kit.avadmin.protocol import AvAdminReader
from fastapi import Depends, Request

from stocktech.accounts.service import Actor
from stocktech.config import Settings

MODULE = "StockTech"

StockTechUser = Annotated[Principal, Depends(require_module(MODULE))]


def get_avadmin(request: Request) -> AvAdminReader:
    avadmin: AvAdminReader = request.app.state.avadmin
    return avadmin


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_actor(principal: StockTechUser) -> Actor:
    return Actor.from_principal(principal)


AvAdminDep = Annotated[AvAdminReader, Depends(get_avadmin)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ActorDep = Annotated[Actor, Depends(get_actor)]

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from avadmin.audit.models import AuditLog
from avadmin.modules.models import Module
from avadmin.modules.repository import ModuleRepository
from avadmin.modules.schemas import ModuleCreate
from avelar_kit.audit import record_audit
from avelar_kit.errors import Conflict, Unprocessable


class ModuleService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.modules = ModuleRepository(session)

    async def register(self, actor: str, data: ModuleCreate) -> Module:
        if await self.modules.get(data.name) is not None:
            raise Conflict("Já existe um módulo com este nome", code="module_name_taken")
        module = await self.modules.add(Module(name=data.name, description=data.description))
        record_audit(self.session, AuditLog, actor=actor, action="module.registered",
                     target=f"module:{module.name}", before={},
                     after={"name": module.name, "description": module.description})
        return module

    async def ensure_known(self, names: Iterable[str]) -> None:
        unknown = await self.modules.unknown(names)
        if unknown:
            raise Unprocessable(
                f"Módulo não registrado: {', '.join(unknown)}", code="module_unknown",
                extra={"errors": [{"field": "modules", "message": "módulo não registrado"}]})

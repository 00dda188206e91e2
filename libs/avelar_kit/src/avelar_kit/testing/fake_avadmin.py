"""An in-memory stand-in for AvAdmin (a fake, not a mock) for a module's unit tests."""

from __future__ import annotations

import uuid

from avelar_kit.avadmin.models import (
    AvAdminAccount,
    AvAdminPlan,
    AvAdminUser,
    PlanSummary,
    Standing,
)
from avelar_kit.testing.logscan import plant

# The fake's default documents and number: the run's log scan fails if one reaches a log line.
plant("52998224725", "11222333000181", "+5511987654321")


class FakeAvAdmin:
    def __init__(self) -> None:
        self.users: dict[uuid.UUID, AvAdminUser] = {}
        self.accounts: dict[uuid.UUID, AvAdminAccount] = {}
        self.plans: dict[uuid.UUID, AvAdminPlan] = {}
        self.calls: list[tuple[str, uuid.UUID]] = []

    def add_account(
        self,
        account_id: uuid.UUID | None = None,
        *,
        company_name: str = "Empresa Teste LTDA",
        cnpj: str = "11222333000181",
        whatsapp: str = "+5511987654321",
        enabled_modules: tuple[str, ...] = ("StockTech", "Lucrum"),
        status: str = "active",
        plan_name: str = "Empresa",
        max_products: int = 500,
        max_users: int = 5,
        max_transactions: int = 2000,
        features: tuple[str, ...] = ("whatsapp", "api_access", "reports"),
    ) -> AvAdminAccount:
        aid = account_id or uuid.uuid4()
        plan_id = uuid.uuid4()
        account = AvAdminAccount(
            id=aid, company_name=company_name, cnpj=cnpj, whatsapp=whatsapp,
            enabled_modules=list(enabled_modules), status=status,
            plan=PlanSummary(id=plan_id, name=plan_name, max_products=max_products,
                             max_users=max_users, max_transactions=max_transactions,
                             features=list(features)),
        )
        self.accounts[aid] = account
        self.plans[aid] = AvAdminPlan(id=plan_id, name=plan_name, max_products=max_products,
                                      max_users=max_users, max_transactions=max_transactions,
                                      features=list(features), status=status)
        return account

    def add_user(
        self,
        account_id: uuid.UUID,
        user_id: uuid.UUID | None = None,
        *,
        full_name: str = "João Silva",
        cpf: str = "52998224725",
        whatsapp: str = "+5511987654321",
        role: str = "admin",
        is_active: bool = True,
    ) -> AvAdminUser:
        uid = user_id or uuid.uuid4()
        user = AvAdminUser(id=uid, full_name=full_name, cpf=cpf, whatsapp=whatsapp,
                           account_id=account_id, role=role, is_active=is_active)
        self.users[uid] = user
        return user

    def set_status(self, account_id: uuid.UUID, status: str) -> None:
        acc = self.accounts[account_id]
        self.accounts[account_id] = acc.model_copy(update={"status": status})
        self.plans[account_id] = self.plans[account_id].model_copy(update={"status": status})

    def set_features(self, account_id: uuid.UUID, *features: str) -> None:
        self.plans[account_id] = self.plans[account_id].model_copy(
            update={"features": list(features)})
        acc = self.accounts[account_id]
        self.accounts[account_id] = acc.model_copy(
            update={"plan": acc.plan.model_copy(update={"features": list(features)})})

    def set_plan_limits(self, account_id: uuid.UUID, **limits: int | None) -> None:
        self.plans[account_id] = self.plans[account_id].model_copy(update=limits)
        acc = self.accounts[account_id]
        self.accounts[account_id] = acc.model_copy(
            update={"plan": acc.plan.model_copy(update=limits)}
        )

    async def get_user(self, user_id: uuid.UUID, *, for_write: bool = False) -> AvAdminUser | None:
        self.calls.append(("user", user_id))
        return self.users.get(user_id)

    async def get_account(
        self, account_id: uuid.UUID, *, for_write: bool = False
    ) -> AvAdminAccount | None:
        self.calls.append(("account", account_id))
        return self.accounts.get(account_id)

    async def get_standing(
        self, user_id: uuid.UUID, account_id: uuid.UUID, *, for_write: bool = False
    ) -> Standing:
        self.calls.append(("standing", user_id))
        return Standing(user=self.users.get(user_id), account=self.accounts.get(account_id))

    async def get_account_plan(
        self, account_id: uuid.UUID, *, for_write: bool = False
    ) -> AvAdminPlan | None:
        self.calls.append(("plan", account_id))
        return self.plans.get(account_id)

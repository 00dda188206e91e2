"""Plans of the seed and a demo company, for `make run`. Idempotent."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from avadmin.accounts.models import Account, AccountStatus
from avadmin.modules.models import Module
from avadmin.plans.models import BillingCycle, Plan
from avadmin.security.passwords import hash_password
from avadmin.users.models import Role, User

PLANS: list[dict[str, object]] = [
    {"name": "Lojista", "price": Decimal("99.90"), "billing_cycle": BillingCycle.monthly,
     "max_products": 100, "max_users": 2, "max_transactions": 300,
     "features": ["whatsapp"], "modules": ["StockTech"]},
    {"name": "Empresa", "price": Decimal("249.90"), "billing_cycle": BillingCycle.monthly,
     "max_products": 500, "max_users": 5, "max_transactions": 2000,
     "features": ["whatsapp", "api_access", "reports"], "modules": ["StockTech", "Lucrum"]},
    {"name": "Corporativo", "price": Decimal("699.90"), "billing_cycle": BillingCycle.monthly,
     "max_products": 5000, "max_users": 25, "max_transactions": 20000,
     "features": ["whatsapp", "api_access", "reports", "priority_support", "custom_modules"],
     "modules": ["StockTech", "Lucrum"]},
]

# Valid documents made for the demo (check digits computed), not real people or companies.
DEMO_COMPANIES = [
    {"company_name": "Avelar Demo Eletrônicos LTDA", "cnpj": "11222333000181",
     "whatsapp": "+5511987654321", "responsible_name": "Ana Souza", "plan": "Empresa",
     "admin": {"full_name": "Ana Souza", "cpf": "52998224725", "whatsapp": "+5511987654321"}},
    {"company_name": "Central Celulares Comércio LTDA", "cnpj": "12ABC34501DE35",
     "whatsapp": "+5521998765432", "responsible_name": "Bruno Lima", "plan": "Corporativo",
     "admin": {"full_name": "Bruno Lima", "cpf": "11144477735", "whatsapp": "+5521998765432"}},
]


@dataclass
class DemoLogin:
    company: str
    account_id: str
    user_id: str
    cpf: str
    password: str


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(14))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


async def seed_modules(session: AsyncSession) -> None:
    """The first-party modules in the registry (the migration adds them too)."""
    for name, description in (("StockTech", "Marketplace B2B"), ("Lucrum", "Gestão financeira")):
        if await session.get(Module, name) is None:
            session.add(Module(name=name, description=description))
    await session.flush()


async def seed_plans(session: AsyncSession) -> dict[str, Plan]:
    await seed_modules(session)
    plans: dict[str, Plan] = {}
    for spec in PLANS:
        plan = await session.scalar(select(Plan).where(Plan.name == spec["name"]))
        if plan is None:
            plan = Plan(**spec)
            session.add(plan)
        plans[str(spec["name"])] = plan
    await session.flush()
    return plans


async def seed_demo(session: AsyncSession) -> list[DemoLogin]:
    """Create the demo companies that do not exist yet; return logins created now (with their
    one-time passwords) — existing ones are left untouched."""
    plans = await seed_plans(session)
    created: list[DemoLogin] = []
    for spec in DEMO_COMPANIES:
        existing = await session.scalar(select(Account).where(Account.cnpj == spec["cnpj"]))
        if existing is not None:
            continue
        plan = plans[str(spec["plan"])]
        account = Account(company_name=spec["company_name"], cnpj=spec["cnpj"],
                          whatsapp=spec["whatsapp"], responsible_name=spec["responsible_name"],
                          plan_id=plan.id, enabled_modules=list(plan.modules),
                          status=AccountStatus.active, whatsapp_verified=True)
        session.add(account)
        await session.flush()
        admin = spec["admin"]
        assert isinstance(admin, dict)
        password = _password()
        user = User(account_id=account.id, full_name=admin["full_name"], cpf=admin["cpf"],
                    whatsapp=admin["whatsapp"], password_hash=await hash_password(password),
                    role=Role.admin, whatsapp_verified=True)
        session.add(user)
        await session.flush()
        created.append(DemoLogin(company=account.company_name, account_id=str(account.id),
                                 user_id=str(user.id), cpf=user.cpf, password=password))
    return created


async def demo_accounts(session: AsyncSession) -> list[tuple[str, str, str]]:
    """(account_id, admin user_id, company name) of the demo companies, for the other modules'
    demo data."""
    out = []
    for spec in DEMO_COMPANIES:
        account = await session.scalar(select(Account).where(Account.cnpj == spec["cnpj"]))
        if account is None:
            continue
        admin = await session.scalar(select(User).where(User.account_id == account.id,
                                                        User.role == Role.admin))
        if admin is not None:
            out.append((str(account.id), str(admin.id), account.company_name))
    return out

"""Demo data: two bank accounts and a few months of a small shop's money, through the same
ledger code the API uses (so the balances are right and the drift check is zero)."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from lucrum import clock
from lucrum.bank_accounts.models import AccountType
from lucrum.bank_accounts.schemas import BankAccountCreate
from lucrum.bank_accounts.service import BankAccountService
from lucrum.categories.models import CategoryKind
from lucrum.categories.service import CategoryService
from lucrum.transactions.models import TransactionType
from lucrum.transactions.service import Posting, TransactionService
from lucrum.transfers.schemas import TransferCreate
from lucrum.transfers.service import TransferService

MONTHLY_EXPENSES: tuple[tuple[int, str, str, tuple[int, int]], ...] = (
    (5, "Aluguel da loja", "Aluguel e condomínio", (3200, 3200)),
    (5, "Salários da equipe", "Salários e encargos", (8400, 8900)),
    (10, "Pró-labore", "Pró-labore", (5000, 5000)),
    (12, "Conta de luz - Enel", "Água, luz e telefone", (380, 620)),
    (15, "Internet fibra + telefone", "Internet e software", (189, 189)),
    (20, "DAS - Simples Nacional", "Impostos e taxas", (1900, 2600)),
    (25, "Honorários do contador", "Contabilidade", (850, 850)),
    (28, "Tarifa pacote de serviços", "Tarifas bancárias", (59, 59)),
)
SUPPLIERS = ("Distribuidora Cell Peças", "Atacado Eletrônicos São Paulo",
             "Importadora Nova Era", "Fornecedor Acessórios Brasil")
CUSTOMERS = ("Maria Aparecida", "Loja do João", "Assistência Técnica Silva",
             "Cliente balcão", "Oficina Mobile Center")


async def seed_company(session: AsyncSession, company: uuid.UUID, *, months: int = 3) -> bool:
    """Create demo accounts and entries for one company. False when it already has accounts
    (seeding twice changes nothing)."""
    bank_accounts = BankAccountService(session)
    if await bank_accounts.list(company, include_inactive=True):
        return False
    rng = random.Random(company.int)
    main = await bank_accounts.create(company, BankAccountCreate(
        name="Conta movimento", bank_code="341", agency="0912",
        account_number=f"{rng.randrange(10000, 99999)}-{rng.randrange(10)}",
        account_type=AccountType.checking, opening_balance=Decimal("15000.00"), is_default=True,
    ), actor="system:seed")
    reserve = await bank_accounts.create(company, BankAccountCreate(
        name="Reserva", bank_code="104", agency="1655",
        account_number=f"013{rng.randrange(100000, 999999)}-{rng.randrange(10)}",
        account_type=AccountType.savings, opening_balance=Decimal("5000.00"), is_default=False,
    ), actor="system:seed")
    categories: dict[str, uuid.UUID] = {}
    for kind in CategoryKind:
        for c in await CategoryService(session).list(company, kind=kind,
                                                     include_inactive=False):
            categories[c.name] = c.id
    books = _DemoBooks(session, company, rng, main.id, reserve.id, categories)
    today = books.today
    month = (today.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    while month <= today:
        await books.month(month)
        month = (month.replace(year=month.year + 1, month=1) if month.month == 12
                 else month.replace(month=month.month + 1))
    return True


class _DemoBooks:
    """A month of a small shop's money, through the same ledger code the API uses."""

    def __init__(self, session: AsyncSession, company: uuid.UUID, rng: random.Random,
                 main: uuid.UUID, reserve: uuid.UUID, categories: dict[str, uuid.UUID]) -> None:
        self.session = session
        self.company = company
        self.rng = rng
        self.main = main
        self.reserve = reserve
        self.categories = categories
        self.entries = TransactionService(session)
        self.today = clock.today()

    async def entry(self, when: date, kind: TransactionType, amount: Decimal, text: str,
                    category: str) -> None:
        if when > self.today:
            return
        await self.entries.post(Posting(
            company=self.company, bank_account_id=self.main, type=kind, amount=amount,
            description=text, transaction_date=when,
            category_id=self.categories.get(category),
        ))

    async def month(self, month: date) -> None:
        rng = self.rng
        for day in range(1, 29, 2):
            amount = Decimal(rng.randrange(80000, 650000)) / 100
            await self.entry(month.replace(day=day), TransactionType.income, amount,
                             f"Venda - {rng.choice(CUSTOMERS)}", "Vendas")
        for day in (3, 17):
            amount = Decimal(rng.randrange(200000, 900000)) / 100
            await self.entry(month.replace(day=day), TransactionType.expense, amount,
                             f"Compra de mercadorias - {rng.choice(SUPPLIERS)}",
                             "Compras de mercadorias")
        for day, text, category, (low, high) in MONTHLY_EXPENSES:
            amount = Decimal(rng.randrange(low * 100, high * 100 + 1)) / 100
            await self.entry(month.replace(day=day), TransactionType.expense, amount, text,
                             category)
        if month.replace(day=27) <= self.today:
            await TransferService(self.session).create(self.company, None, TransferCreate(
                from_bank_account_id=self.main, to_bank_account_id=self.reserve,
                amount=Decimal("1000.00"), transfer_date=month.replace(day=27),
                description="Aplicação na reserva",
            ))

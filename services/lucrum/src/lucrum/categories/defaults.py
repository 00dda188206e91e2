"""The categories every company starts with: a small Brazilian chart of accounts that a
micro or small business recognises (DRE-style groups without the accounting jargon)."""

from __future__ import annotations

from lucrum.categories.models import CategoryKind

SALES = "Vendas"
PURCHASES = "Compras de mercadorias"

DEFAULT_CATEGORIES: tuple[tuple[str, CategoryKind], ...] = (
    (SALES, CategoryKind.income),
    ("Prestação de serviços", CategoryKind.income),
    ("Receitas financeiras", CategoryKind.income),
    ("Outras receitas", CategoryKind.income),
    (PURCHASES, CategoryKind.expense),
    ("Fornecedores", CategoryKind.expense),
    ("Aluguel e condomínio", CategoryKind.expense),
    ("Salários e encargos", CategoryKind.expense),
    ("Pró-labore", CategoryKind.expense),
    ("Impostos e taxas", CategoryKind.expense),
    ("Água, luz e telefone", CategoryKind.expense),
    ("Internet e software", CategoryKind.expense),
    ("Tarifas bancárias", CategoryKind.expense),
    ("Marketing e publicidade", CategoryKind.expense),
    ("Transporte e combustível", CategoryKind.expense),
    ("Manutenção", CategoryKind.expense),
    ("Contabilidade", CategoryKind.expense),
    ("Outras despesas", CategoryKind.expense),
)

"""CSV for Brazilian spreadsheets.

Excel with the pt-BR locale (what a Brazilian accountant opens) expects ``;`` between fields,
a comma as the decimal separator, dates as dd/mm/aaaa, and needs a UTF-8 BOM to read accents
correctly. Values are signed (expenses and outgoing transfers negative) so a column sum is the
net movement. Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) is
prefixed with an apostrophe: descriptions come from bank statements and other people.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from lucrum.transactions.models import FinancialTransaction, TransactionType

BOM = "\ufeff"
HEADER = ("Código", "Data", "Descrição", "Tipo", "Categoria", "Conta", "Valor")
TYPE_LABELS = {
    TransactionType.income: "Receita",
    TransactionType.expense: "Despesa",
    TransactionType.transfer_in: "Transferência recebida",
    TransactionType.transfer_out: "Transferência enviada",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def decimal_br(value: Decimal) -> str:
    return format(value, "f").replace(".", ",")


def render(
    rows: Iterable[tuple[FinancialTransaction, str | None]], account_names: Mapping[uuid.UUID, str]
) -> str:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(HEADER)
    for tx, category in rows:
        kind = TransactionType(tx.type)
        writer.writerow(_row(tx, kind, category, account_names))
    return buffer.getvalue()


def _row(tx: FinancialTransaction, kind: TransactionType, category: str | None,
         account_names: Mapping[uuid.UUID, str]) -> Sequence[str]:
    return (
        tx.code,
        tx.transaction_date.strftime("%d/%m/%Y"),
        safe_text(tx.description),
        TYPE_LABELS[kind],
        safe_text(category or ""),
        safe_text(account_names.get(tx.bank_account_id, "")),
        decimal_br(tx.amount * kind.sign),
    )

"""CSV statements as Brazilian banks and spreadsheets export them.

- Encoding: UTF-8 (with or without BOM), else Windows-1252 (a superset of ISO-8859-1 for
  everything printable), else ISO-8859-1, which decodes any byte.
- Separator: ``;`` (Excel pt-BR), tab, or ``,`` (then amounts with comma decimals are quoted).
- Amounts: ``1.234,56``, ``-1234,56``, ``1234.56``, ``R$ 10,00``, or whole cents (``123456``
  meaning R$ 1.234,56) when the column is named *centavos*/*cents* or the caller says so; an
  integer is never silently read as cents, since ``1500`` could be R$ 15,00 or R$ 1.500,00.
- Direction: the amount's sign, or a type column (C/D, crédito/débito, entrada/saída), or
  separate credit and debit columns.
- Header row required; "SALDO ..." lines are balances, not entries, and are reported as skipped.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from avelar_kit.br import parse_brl_amount
from lucrum.imports.parsed import (
    Entry,
    ParseResult,
    Rejection,
    StatementFormatError,
    check_entry,
    clean_text,
    derived_id,
    fold,
)

AmountFormat = Literal["auto", "decimal", "cents"]

_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("data", "date", "data lancamento", "data do lancamento", "data de lancamento",
             "dt lancamento", "data movimento", "data da transacao", "dia"),
    "description": ("descricao", "historico", "lancamento", "description", "memo", "detalhes",
                    "descricao do lancamento", "historico do lancamento", "titulo"),
    "amount": ("valor", "amount", "valor (r$)", "valor r$", "quantia", "valor lancamento",
               "valor_centavos", "valor em centavos", "valor (centavos)", "amount_cents",
               "centavos"),
    "credit": ("credito", "entrada", "credito (r$)", "entradas", "creditos"),
    "debit": ("debito", "saida", "debito (r$)", "saidas", "debitos"),
    "type": ("tipo", "d/c", "c/d", "natureza", "tipo lancamento", "dc", "cd"),
    "id": ("id", "identificador", "documento", "n documento", "no documento", "num documento",
           "numero documento", "fitid", "codigo", "id transacao", "id da transacao"),
}
_DEBIT = {"d", "debito", "saida", "despesa", "-", "db"}
_CREDIT = {"c", "credito", "entrada", "receita", "+", "cr"}
_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")


def decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Texto Unicode" export: UTF-16 with a BOM.
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode("utf-16")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _dialect(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (";", "\t", ",")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ";"


def _map_header(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = re.sub(r"[º°.]", "", fold(raw)).strip()
        for key, aliases in _COLUMNS.items():
            if key not in found and name in aliases:
                found[key] = index
    return found


def _parse_date(value: str) -> date:
    text = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar day)
        except ValueError:
            continue
    raise ValueError(f"data inválida: {text[:20]!r}")


def _parse_amount(value: str, cents: bool) -> Decimal:
    text = value.strip()
    if cents:
        compact = text.replace(" ", "")
        if not re.fullmatch(r"[-+]?\d+", compact):
            raise ValueError(f"valor em centavos inválido: {text[:20]!r}")
        if len(compact.lstrip("+-")) > 15:
            # Past NUMERIC(15,2) anyway; and Decimal arithmetic would round past 28 digits.
            raise ValueError("valor acima do limite de R$ 9.999.999.999.999,99")
        return Decimal(compact).scaleb(-2)
    return parse_brl_amount(text)


def _direction(value: str) -> int:
    folded = fold(value).strip()
    if folded in _DEBIT:
        return -1
    if folded in _CREDIT:
        return 1
    raise ValueError(f"tipo desconhecido: {value[:20]!r} (use C ou D)")


def parse_csv(data: bytes, amount_format: AmountFormat = "auto") -> ParseResult:
    try:
        return _parse_csv(data, amount_format)
    except csv.Error as exc:
        # An unclosed quote makes the rest of the file one field, past the csv module's limit.
        raise StatementFormatError("CSV malformado: há aspas sem fechamento ou um campo longo "
                                   "demais") from exc


def _header(reader: Iterator[list[str]]) -> tuple[list[str], dict[str, int]]:
    """The first non-blank row and where each known column is in it; refused without the
    date, description and amount (or credit and debit) columns."""
    header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    columns = _map_header(header) if header is not None else {}
    has_amount = "amount" in columns or ("credit" in columns and "debit" in columns)
    if header is None or "date" not in columns or "description" not in columns or not has_amount:
        raise StatementFormatError(
            "Cabeçalho do CSV não reconhecido: são necessárias as colunas data, descrição e "
            "valor (ou crédito e débito)"
        )
    return header, columns


class _Row:
    """One data row read through the header's columns."""

    def __init__(self, row: list[str], columns: dict[str, int]) -> None:
        self.row = row
        self.columns = columns

    def cell(self, key: str) -> str:
        index = self.columns.get(key)
        return self.row[index].strip() if index is not None and index < len(self.row) else ""

    def amount(self, cents: bool) -> Decimal:
        """Signed: by the amount's own sign, a type column (C/D) or the credit/debit column."""
        if "amount" in self.columns:
            amount = _parse_amount(self.cell("amount"), cents)
            if self.cell("type"):
                amount = abs(amount) * _direction(self.cell("type"))
            return amount
        credit, debit = self.cell("credit"), self.cell("debit")
        if bool(credit) == bool(debit):
            raise ValueError("preencha crédito ou débito (um dos dois)")
        return abs(_parse_amount(credit, cents)) if credit else -abs(_parse_amount(debit, cents))


def _entry_values(row: _Row, description: str, cents: bool) -> tuple[date, Decimal]:
    when = _parse_date(row.cell("date"))
    amount = row.amount(cents)
    if amount == 0:
        raise ValueError("valor zero")
    if not description:
        raise ValueError("descrição vazia")
    check_entry(when, amount)
    return when, amount


def _parse_csv(data: bytes, amount_format: AmountFormat) -> ParseResult:
    text = decode(data)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if not first:
        raise StatementFormatError("Arquivo CSV vazio")
    reader = csv.reader(io.StringIO(text), delimiter=_dialect(first))
    header, columns = _header(reader)
    cents = amount_format == "cents" or (
        amount_format == "auto" and "amount" in columns
        and any(w in fold(header[columns["amount"]]) for w in ("centavos", "cents"))
    )
    result = ParseResult(format="csv")
    occurrences: Counter[tuple[date, Decimal, str]] = Counter()
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        row = _Row(cells, columns)
        description = clean_text(row.cell("description"))
        if fold(description).startswith("saldo"):
            result.rejected.append(Rejection("linha de saldo, não é lançamento", line=line))
            continue
        try:
            when, amount = _entry_values(row, description, cents)
        except ValueError as exc:
            result.rejected.append(Rejection(str(exc), line=line))
            continue
        bank_id = clean_text(row.cell("id"))
        if bank_id:
            external_id = f"csv:id:{bank_id[:200]}"
        else:
            key = (when, amount, fold(description))
            occurrences[key] += 1
            external_id = derived_id("csv", when, amount, description, occurrences[key])
        result.add(Entry(external_id, when, amount, description[:500]), line=line)
    return result

"""The portal's pt-BR display and input helpers (fast, no I/O)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from avelar_web import formatting as f


@pytest.mark.parametrize(("typed", "amount"), [
    ("1.234,56", Decimal("1234.56")), ("1234.56", Decimal("1234.56")),
    ("1234,56", Decimal("1234.56")), ("R$ 1.234,56", Decimal("1234.56")),
    ("10", Decimal("10.00")), (" 0,5 ", Decimal("0.50")), ("1.000.000,00", Decimal("1000000.00")),
])
def test_money_input_accepts_brazilian_and_dot_decimals(typed: str, amount: Decimal) -> None:
    assert f.parse_money(typed) == amount


@pytest.mark.parametrize("typed", ["", "abc", "1,2,3", "12.34.56", "(10,00)"])
def test_money_input_refuses_what_is_not_one_amount(typed: str) -> None:
    with pytest.raises(ValueError, match="alor"):
        f.parse_money(typed)


def test_money_display() -> None:
    assert f.money("1234.56") == "R$ 1.234,56"
    assert f.money(Decimal("-10")) == "-R$ 10,00"
    assert f.money(0) == "R$ 0,00"
    assert f.money(None) == ""
    assert f.money_input("1234.5") == "1.234,50"


def test_dates_are_dd_mm_aaaa_in_brasilia_time() -> None:
    assert f.br_date("2026-12-01") == "01/12/2026"
    assert f.br_date(date(2026, 1, 9)) == "09/01/2026"
    # 02:00 UTC on the 2nd is still the 1st in Brasília (UTC-3).
    assert f.br_date("2026-12-02T02:00:00+00:00") == "01/12/2026"
    assert f.br_datetime("2026-12-01T15:05:00Z") == "01/12/2026 12:05"
    assert f.parse_date("01/12/2026") == date(2026, 12, 1)
    assert f.parse_date("2026-12-01") == date(2026, 12, 1)
    assert f.parse_date("") is None
    with pytest.raises(ValueError, match="dd/mm/aaaa"):
        f.parse_date("31/02/2026")


def test_cpf_with_or_without_mask() -> None:
    assert f.parse_cpf("529.982.247-25") == "52998224725"
    assert f.parse_cpf("52998224725") == "52998224725"
    assert f.cpf("52998224725") == "529.982.247-25"
    with pytest.raises(ValueError, match="CPF inválido"):
        f.parse_cpf("529.982.247-26")


def test_cnpj_numeric_and_alphanumeric() -> None:
    assert f.parse_cnpj("11.222.333/0001-81") == "11222333000181"
    assert f.cnpj("11222333000181") == "11.222.333/0001-81"
    assert f.parse_cnpj("12.abc.345/01de-35") == "12ABC34501DE35"
    assert f.cnpj("12ABC34501DE35") == "12.ABC.345/01DE-35"
    with pytest.raises(ValueError, match="CNPJ inválido"):
        f.parse_cnpj("11.222.333/0001-82")


def test_phone_as_people_write_it() -> None:
    assert f.parse_phone("(11) 98765-4321") == "+5511987654321"
    assert f.parse_phone("11987654321") == "+5511987654321"
    assert f.phone("+5511987654321") == "(11) 98765-4321"
    with pytest.raises(ValueError, match="WhatsApp"):
        f.parse_phone("(11) 3333-4444")


def test_usage_bar_width() -> None:
    assert f.percent(1, 5) == 20
    assert f.percent(7, 5) == 100
    assert f.percent(3, None) == 0
    assert f.percent(0, 0) == 0
    assert f.percent(1, 0) == 100


def test_counts_with_thousands_separator() -> None:
    assert f.count(5000) == "5.000"
    assert f.count(20000) == "20.000"
    assert f.count(999) == "999"
    assert f.count(0) == "0"
    assert f.count(None) == ""
    assert f.count("1234567") == "1.234.567"

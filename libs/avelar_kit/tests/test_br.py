"""Tests of avelar_kit.br: CPF, CNPJ (numeric and alphanumeric), WhatsApp and BRL money."""

from __future__ import annotations

import json
import string
from decimal import Decimal
from typing import Annotated

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from avelar_kit.br import (
    CNPJ,
    CPF,
    Money,
    MoneyRule,
    NonNegativeMoney,
    PositiveMoney,
    WhatsApp,
    compute_cnpj_check_digits,
    compute_cpf_check_digits,
    format_brl,
    format_cnpj,
    format_cpf,
    format_whatsapp_display,
    is_valid_cnpj,
    is_valid_cpf,
    mask_cpf,
    normalize_cnpj,
    normalize_cpf,
    normalize_whatsapp,
    parse_brl_amount,
    quantize_brl,
    whatsapp_wa_me_digits,
)

# deadline=None: the first example pays for imports (phonenumbers metadata, pydantic schema
# building) and would make the run flaky on a slow CI machine.
PROPERTY = settings(deadline=None)

CNPJ_BASE_CHARS = string.digits + string.ascii_uppercase
OFFICIAL_ALNUM_CNPJ = "12ABC34501DE35"


def _value(char: str) -> int:
    return ord(char) - 48


# --------------------------------------------------------------------------------------- CPF


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("529.982.247-25", "52998224725"),
        ("52998224725", "52998224725"),
        ("111.444.777-35", "11144477735"),
        (" 529 982 247 25 ", "52998224725"),
        ("529982247-25", "52998224725"),
    ],
)
def test_normalize_cpf_accepts_masked_and_bare(raw: str, expected: str) -> None:
    assert normalize_cpf(raw) == expected
    assert is_valid_cpf(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("529.982.247-26", "verificadores"),  # wrong second DV
        ("529.982.247-15", "verificadores"),  # wrong first DV
        ("111.111.111-11", "iguais"),  # passes the arithmetic, not a real CPF
        ("000.000.000-00", "iguais"),
        ("5299822472", "11 dígitos"),  # 10 digits
        ("529982247250", "11 dígitos"),  # 12 digits
        ("", "11 dígitos"),
        ("529.982.247-2A", "11 dígitos"),  # letters
        ("abc.def.ghi-jk", "11 dígitos"),
        ("529/982/247-25", "11 dígitos"),  # "/" is not part of the CPF mask
        ("529,982,247-25", "11 dígitos"),
        ("٥٢٩٩٨٢٢٤٧٢٥", "11 dígitos"),  # Arabic-Indic digits: \d would match them
    ],
)
def test_normalize_cpf_rejects(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"CPF inválido: .*{reason}"):
        normalize_cpf(raw)
    assert not is_valid_cpf(raw)


def test_cpf_error_message_does_not_echo_the_value() -> None:
    with pytest.raises(ValueError) as excinfo:
        normalize_cpf("529.982.247-26")
    assert "52998224726" not in str(excinfo.value)
    assert "529.982.247-26" not in str(excinfo.value)


def test_non_string_cpf_is_invalid() -> None:
    assert not is_valid_cpf(52998224725)  # type: ignore[arg-type]


def test_format_and_mask_cpf() -> None:
    assert format_cpf("52998224725") == "529.982.247-25"
    assert format_cpf("529.982.247-25") == "529.982.247-25"
    assert mask_cpf("52998224725") == "***.982.247-**"
    assert mask_cpf("529.982.247-25") == "***.982.247-**"
    with pytest.raises(ValueError, match="CPF inválido"):
        format_cpf("52998224726")
    with pytest.raises(ValueError, match="CPF inválido"):
        mask_cpf("123")


def test_compute_cpf_check_digits() -> None:
    assert compute_cpf_check_digits("529982247") == "25"
    assert compute_cpf_check_digits("111444777") == "35"
    with pytest.raises(ValueError, match="9 dígitos"):
        compute_cpf_check_digits("12345678")
    with pytest.raises(ValueError, match="9 dígitos"):
        compute_cpf_check_digits("12345678A")


@PROPERTY
@given(st.text(alphabet=string.digits, min_size=9, max_size=9))
def test_any_cpf_base_with_computed_check_digits_is_valid(base: str) -> None:
    cpf = base + compute_cpf_check_digits(base)
    assume(cpf != cpf[0] * 11)
    assert normalize_cpf(cpf) == cpf
    assert normalize_cpf(format_cpf(cpf)) == cpf


@PROPERTY
@given(
    st.text(alphabet=string.digits, min_size=9, max_size=9),
    st.integers(min_value=0, max_value=10),
    st.sampled_from(string.digits),
)
def test_single_digit_change_of_a_cpf(base: str, position: int, digit: str) -> None:
    cpf = base + compute_cpf_check_digits(base)
    assume(cpf != cpf[0] * 11 and cpf[position] != digit)
    changed = cpf[:position] + digit + cpf[position + 1 :]
    assume(changed != changed[0] * 11)
    # The official mod-11 rule maps remainders 0 and 1 to the same DV "0", so it cannot catch
    # every substitution: the first digit has weight 11 (= 0 mod 11) in the second DV, and
    # position 5 has weights 5 and 6 (opposite mod 11). Everything else must be caught.
    if is_valid_cpf(changed):
        assert (position == 0 and cpf[9] == "0") or (position == 5 and cpf[9:] == "00")


def test_known_undetected_cpf_substitution() -> None:
    # Both are valid under the official algorithm; documented so nobody "fixes" the validator.
    assert is_valid_cpf("38746908307")
    assert is_valid_cpf("28746908307")


# -------------------------------------------------------------------------------------- CNPJ


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11.222.333/0001-81", "11222333000181"),
        ("11222333000181", "11222333000181"),
        ("11.444.777/0001-61", "11444777000161"),
        ("12ABC34501DE35", "12ABC34501DE35"),
        ("12.ABC.345/01DE-35", "12ABC34501DE35"),
        ("12.abc.345/01de-35", "12ABC34501DE35"),
        ("12abc34501de35", "12ABC34501DE35"),
        (" 12 ABC 345 01DE 35 ", "12ABC34501DE35"),
    ],
)
def test_normalize_cnpj_accepts_numeric_and_alphanumeric(raw: str, expected: str) -> None:
    assert normalize_cnpj(raw) == expected
    assert is_valid_cnpj(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("11.222.333/0001-82", "verificadores"),
        ("11.222.333/0001-91", "verificadores"),
        ("12ABC34501DE36", "verificadores"),
        ("00000000000000", "iguais"),
        ("11111111111111", "iguais"),
        ("99.999.999/9999-99", "iguais"),
        ("1122233300018", "14 caracteres"),  # 13
        ("112223330001811", "14 caracteres"),  # 15
        ("", "14 caracteres"),
        ("12ABC34501DE3A", "dígitos verificadores"),  # letter in a DV position
        ("12ABC34501DEAB", "dígitos verificadores"),
        ("12ABC34501D_35", "0-9 ou A-Z"),  # other characters
        ("12ABC34501DÉ35", "0-9 ou A-Z"),  # accented letter
        ("12ABC34501Dı35", "0-9 ou A-Z"),  # dotless i: str.upper() would make it "I"
        ("11,222,333/0001-81", "14 caracteres"),  # "," is not part of the mask
    ],
)
def test_normalize_cnpj_rejects(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"CNPJ inválido: .*{reason}"):
        normalize_cnpj(raw)
    assert not is_valid_cnpj(raw)


def test_format_cnpj() -> None:
    assert format_cnpj("12ABC34501DE35") == "12.ABC.345/01DE-35"
    assert format_cnpj("12abc34501de35") == "12.ABC.345/01DE-35"
    assert format_cnpj("11222333000181") == "11.222.333/0001-81"
    with pytest.raises(ValueError, match="CNPJ inválido"):
        format_cnpj("11222333000182")


@pytest.mark.parametrize("cnpj", ["11222333000181", "11444777000161", OFFICIAL_ALNUM_CNPJ])
def test_compute_cnpj_check_digits_known_values(cnpj: str) -> None:
    assert compute_cnpj_check_digits(cnpj[:12]) == cnpj[12:]
    assert compute_cnpj_check_digits(cnpj[:12].lower()) == cnpj[12:]


@pytest.mark.parametrize("base", ["11222333000", "1122233300018", "12ABC34501D-", "12ABC34501DÉ"])
def test_compute_cnpj_check_digits_rejects_bad_base(base: str) -> None:
    with pytest.raises(ValueError, match="12 caracteres"):
        compute_cnpj_check_digits(base)


def test_every_single_change_of_the_official_vector() -> None:
    """Every one-character change of 12ABC34501DE35 is rejected, except substitutions between
    characters whose values differ by a multiple of 11 ("A"=17 <-> "6"=6, "1" <-> "G"=23...).

    The official rule weighs each character by ``ord - 48`` and reduces mod 11, so it is blind
    to those; they are valid CNPJs by the specification and must stay accepted.
    """
    undetected: list[str] = []
    for position, original in enumerate(OFFICIAL_ALNUM_CNPJ):
        alphabet = CNPJ_BASE_CHARS if position < 12 else string.digits
        for char in alphabet:
            if char == original:
                continue
            changed = OFFICIAL_ALNUM_CNPJ[:position] + char + OFFICIAL_ALNUM_CNPJ[position + 1 :]
            blind_spot = (_value(char) - _value(original)) % 11 == 0
            assert is_valid_cnpj(changed) == blind_spot, changed
            if blind_spot:
                undetected.append(changed)
    assert "G2ABC34501DE35" in undetected
    assert "126BC34501DE35" in undetected
    # All in the 12 base positions: the check digits are single digits, a change is always seen.
    assert len(undetected) == 27


def test_known_undetected_numeric_cnpj_substitution() -> None:
    # Remainders 0 and 1 both give DV "0"; positions 0, 4 and 8 have opposite weights mod 11 in
    # the two DVs, so a CNPJ ending in "00" can have a twin one digit away. Both are valid.
    assert is_valid_cnpj("59012070840100")
    assert is_valid_cnpj("79012070840100")


@PROPERTY
@given(st.text(alphabet=CNPJ_BASE_CHARS, min_size=12, max_size=12))
def test_any_alphanumeric_base_with_computed_check_digits_is_valid(base: str) -> None:
    cnpj = base + compute_cnpj_check_digits(base)
    assume(cnpj != cnpj[0] * 14)
    assert normalize_cnpj(cnpj) == cnpj
    assert normalize_cnpj(cnpj.lower()) == cnpj
    assert normalize_cnpj(format_cnpj(cnpj)) == cnpj


@PROPERTY
@given(
    st.text(alphabet=CNPJ_BASE_CHARS, min_size=12, max_size=12),
    st.integers(min_value=0, max_value=13),
    st.sampled_from(CNPJ_BASE_CHARS),
)
def test_single_character_change_of_a_cnpj(base: str, position: int, char: str) -> None:
    cnpj = base + compute_cnpj_check_digits(base)
    assume(cnpj != cnpj[0] * 14 and cnpj[position] != char)
    changed = cnpj[:position] + char + cnpj[position + 1 :]
    assume(changed != changed[0] * 14)
    if position >= 12 and char.isalpha():
        assert not is_valid_cnpj(changed)  # letters never allowed in the DVs
        return
    blind_spot = (_value(char) - _value(cnpj[position])) % 11 == 0
    if blind_spot:
        assert is_valid_cnpj(changed)
    elif is_valid_cnpj(changed):
        # The only other way through: both remainders collapse 0 <-> 1 (see the test above).
        assert cnpj[12:] == "00"
        assert position in (0, 4, 8)


# ---------------------------------------------------------------------------------- WhatsApp


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+55 11 98765-4321", "+5511987654321"),
        ("(11) 98765-4321", "+5511987654321"),
        ("11987654321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),
        ("55 (11) 98765-4321", "+5511987654321"),
        ("+5511987654321", "+5511987654321"),
        ("  11 98765.4321 ", "+5511987654321"),
        ("(21) 99999-8888", "+5521999998888"),
        # 55 is also a DDD (Santa Maria/RS): 11 digits starting with 55 are national.
        ("55999991234", "+5555999991234"),
    ],
)
def test_normalize_whatsapp_accepts_brazilian_mobiles(raw: str, expected: str) -> None:
    assert normalize_whatsapp(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("+55 11 3333-4444", "fixo"),  # landline
        ("(21) 2555-1234", "fixo"),
        ("+1 650 253 0000", "Brasil"),  # USA
        ("+351 912 345 678", "Brasil"),  # Portuguese mobile
        ("11 8765-4321", "inexistente"),  # old 8-digit mobile, no longer valid
        ("+55 11 98765-432", "inexistente"),  # too short
        ("1198765", "inexistente"),
        ("+55 11 08765-4321", "inexistente"),
        ("", "apenas números"),
        ("abc", "apenas números"),
        ("1198765ABCD", "apenas números"),  # phonenumbers would turn letters into digits
        ("ligue 11987654321", "apenas números"),  # phonenumbers would extract the number
        ("11987654321 ramal 2", "apenas números"),
        ("11+987654321", "apenas números"),
    ],
)
def test_normalize_whatsapp_rejects(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"WhatsApp inválido: .*{reason}"):
        normalize_whatsapp(raw)


def test_whatsapp_display_and_wa_me() -> None:
    assert format_whatsapp_display("+5511987654321") == "+55 (11) 98765-4321"
    assert format_whatsapp_display("(21) 99999-8888") == "+55 (21) 99999-8888"
    assert whatsapp_wa_me_digits("+5511987654321") == "5511987654321"
    with pytest.raises(ValueError, match="WhatsApp inválido"):
        whatsapp_wa_me_digits("+551133334444")


# ------------------------------------------------------------------------------------- Money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1.005"), "1.01"),  # HALF_UP; HALF_EVEN would give 1.00
        (Decimal("2.675"), "2.68"),
        (Decimal("1.004"), "1.00"),
        (Decimal("-1.005"), "-1.01"),  # half away from zero
        ("10.5", "10.50"),
        (10, "10.00"),
        (0, "0.00"),
        (Decimal("-0.001"), "0.00"),  # no negative zero
        (Decimal("-0"), "0.00"),
    ],
)
def test_quantize_brl(value: Decimal | str | int, expected: str) -> None:
    result = quantize_brl(value)
    assert str(result) == expected


@pytest.mark.parametrize("value", [10.5, 0.1, True])
def test_quantize_brl_rejects_float_and_bool(value: object) -> None:
    with pytest.raises(TypeError, match="valor monetário"):
        quantize_brl(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN", "abc", "10,50", "1e40"])
def test_quantize_brl_rejects_non_finite_and_garbage(value: str) -> None:
    with pytest.raises(ValueError, match="valor monetário"):
        quantize_brl(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1234.56"), "R$ 1.234,56"),
        (Decimal("-1234.56"), "-R$ 1.234,56"),
        (Decimal("0"), "R$ 0,00"),
        (Decimal("0.5"), "R$ 0,50"),
        (Decimal("1234567.891"), "R$ 1.234.567,89"),
        (Decimal("999.995"), "R$ 1.000,00"),
        (Decimal("-0.001"), "R$ 0,00"),
    ],
)
def test_format_brl(value: Decimal, expected: str) -> None:
    assert format_brl(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", "1234.56"),
        ("1234,56", "1234.56"),
        ("-1.234,56", "-1234.56"),
        ("1234.56", "1234.56"),
        ("R$ 10,00", "10.00"),
        ("R$10,00", "10.00"),
        ("-R$ 10,00", "-10.00"),
        ("R$ -10,00", "-10.00"),
        ("R$\u00a01.234,56", "1234.56"),  # non-breaking space from browsers/spreadsheets
        ("+10,5", "10.50"),
        ("10", "10.00"),
        ("1.234", "1234.00"),  # 3 digits after the dot: thousands, never cents
        ("1.234.567,89", "1234567.89"),
        ("0,01", "0.01"),
        (" 42,00 ", "42.00"),
    ],
)
def test_parse_brl_amount(text: str, expected: str) -> None:
    assert parse_brl_amount(text) == Decimal(expected)
    assert str(parse_brl_amount(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "R$",
        "(10,00)",  # accounting negative: unsupported rather than read as positive
        "1,234.56",  # US grouping
        "10,555",  # 3 decimal places
        "1234.567",
        "1.23.4",
        "12.34,56",
        "10,",
        ",50",
        "--10",
        "+-10",
        "10,00 D",
        "10,00-",
        "1 234,56",
        "R$ 10,00 R$",
    ],
)
def test_parse_brl_amount_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="valor inválido"):
        parse_brl_amount(text)


@PROPERTY
@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2))
def test_format_brl_round_trips_through_parse(amount: Decimal) -> None:
    assert parse_brl_amount(format_brl(amount)) == amount


# ---------------------------------------------------------------------------------- Pydantic


class Customer(BaseModel):
    cpf: CPF
    cnpj: CNPJ
    whatsapp: WhatsApp


class Invoice(BaseModel):
    total: PositiveMoney
    discount: NonNegativeMoney
    balance: Money


VALID_CUSTOMER = {
    "cpf": "529.982.247-25",
    "cnpj": "12.abc.345/01de-35",
    "whatsapp": "(11) 98765-4321",
}


def _errors_by_field(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {str(err["loc"][0]): err["msg"] for err in excinfo.value.errors()}


def test_model_normalizes_documents() -> None:
    customer = Customer.model_validate(VALID_CUSTOMER)
    assert customer.cpf == "52998224725"
    assert customer.cnpj == "12ABC34501DE35"
    assert customer.whatsapp == "+5511987654321"
    assert Customer.model_validate_json(json.dumps(VALID_CUSTOMER)) == customer


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cpf", "529.982.247-26", "CPF inválido"),
        ("cpf", 52998224725, "valid string"),  # a number is not a CPF (leading zeros!)
        ("cnpj", "12ABC34501DE36", "CNPJ inválido"),
        ("whatsapp", "+55 11 3333-4444", "WhatsApp inválido"),
    ],
)
def test_model_rejects_invalid_document_naming_the_field(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Customer.model_validate({**VALID_CUSTOMER, field: value})
    errors = _errors_by_field(excinfo)
    assert list(errors) == [field]
    assert message in errors[field]


def test_money_accepts_strings_and_ints_and_serializes_as_strings() -> None:
    invoice = Invoice.model_validate_json('{"total": 10, "discount": "0", "balance": "-12.5"}')
    assert invoice.total == Decimal("10.00")
    assert invoice.balance == Decimal("-12.50")
    assert json.loads(invoice.model_dump_json()) == {
        "total": "10.00",
        "discount": "0.00",
        "balance": "-12.50",
    }
    # Python mode keeps the Decimal; only JSON gets strings.
    assert invoice.model_dump()["total"] == Decimal("10.00")


def test_money_negative_zero_and_the_pattern_is_the_rule() -> None:
    invoice = Invoice(total="10.50", discount="0", balance="-0.00")  # type: ignore[arg-type]
    assert str(invoice.total) == "10.50"
    assert str(invoice.discount) == "0.00"
    assert str(invoice.balance) == "0.00"
    # What the OpenAPI pattern refuses, the validator refuses (issue 9).
    for bad in ("10.500", "+1.00", " 1.00 ", "01.00", "1e3"):
        with pytest.raises(ValidationError):
            Invoice(total=bad, discount="0", balance="0")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Invoice(total="1", discount="-0", balance="0")  # type: ignore[arg-type]


@pytest.mark.parametrize("rule", [MoneyRule(), MoneyRule(signed=True),
                                  MoneyRule(positive=True),
                                  MoneyRule(positive=True, integer_digits=8)])
@pytest.mark.parametrize("text", ["0", "0.00", "0.0", "0.01", "0.1", "1", "1.5", "10.50",
                                  "-1.00", "-0", "+1.00", " 1.00 ", "01", "10.500", "1e3",
                                  "99999999.99", "100000000.00", "9999999999999.99"])
def test_money_pattern_and_validator_agree(rule: MoneyRule, text: str) -> None:
    import re as _re

    from pydantic import TypeAdapter

    adapter = TypeAdapter(Annotated[Decimal, rule])
    pattern = adapter.json_schema()["pattern"]
    try:
        adapter.validate_python(text)
        valid = True
    except ValidationError:
        valid = False
    assert valid == bool(_re.fullmatch(pattern, text)), (rule, text, pattern)


def test_money_serializes_unvalidated_values_with_two_places() -> None:
    invoice = Invoice.model_construct(
        total=Decimal("10"), discount=Decimal("0"), balance=Decimal("-3.5")
    )
    assert json.loads(invoice.model_dump_json()) == {
        "total": "10.00",
        "discount": "0.00",
        "balance": "-3.50",
    }


@pytest.mark.parametrize("payload", ['{"total": 10.5}', '{"total": 10.0}', '{"total": 1e2}'])
def test_money_rejects_json_floats(payload: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Invoice.model_validate_json(payload[:-1] + ', "discount": "0", "balance": "0"}')
    errors = _errors_by_field(excinfo)
    assert list(errors) == ["total"]
    assert 'use uma string, ex.: "10.50"' in errors["total"]


def test_money_rejects_python_float() -> None:
    with pytest.raises(ValidationError, match="float"):
        Invoice(total=10.5, discount="0", balance="0")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("total", "10.555", "2 casas decimais"),
        ("total", "0.001", "2 casas decimais"),
        ("balance", "10000000000000", "menor que"),  # 14 integer digits: NUMERIC(15,2) overflow
        ("balance", "-10000000000000.00", "menor que"),
        ("balance", 10**20, "menor que"),
        ("balance", "NaN", "use uma string"),
        ("balance", "Infinity", "use uma string"),
        ("balance", "1e3", "use uma string"),
        ("balance", "1_000", "use uma string"),
        ("balance", "10,50", "use uma string"),
        ("balance", "", "use uma string"),
        ("balance", True, "use uma string"),
        ("balance", None, "use uma string"),
        ("balance", [1], "use uma string"),
        ("total", "0", "maior que zero"),
        ("total", "-1", "maior que zero"),
        ("discount", "-0.01", "negativo"),
    ],
)
def test_money_rejects(field: str, value: object, message: str) -> None:
    data: dict[str, object] = {"total": "1", "discount": "0", "balance": "0", field: value}
    with pytest.raises(ValidationError) as excinfo:
        Invoice.model_validate(data)
    errors = _errors_by_field(excinfo)
    assert list(errors) == [field]
    assert message in errors[field]


def test_money_limits() -> None:
    invoice = Invoice.model_validate(
        {"total": "9999999999999.99", "discount": "0", "balance": "-9999999999999.99"}
    )
    assert invoice.total == Decimal("9999999999999.99")
    assert json.loads(invoice.model_dump_json())["balance"] == "-9999999999999.99"


def test_json_schema_documents_strings_with_examples() -> None:
    props = Customer.model_json_schema()["properties"]
    assert props["cpf"]["type"] == "string"
    assert props["cpf"]["examples"] == ["529.982.247-25"]
    assert "12.ABC.345/01DE-35" in props["cnpj"]["examples"]
    assert props["whatsapp"]["examples"] == ["+5511987654321"]
    for mode in ("validation", "serialization"):
        money = Invoice.model_json_schema(mode=mode)["properties"]
        assert money["total"]["type"] == "string"
        assert money["total"]["examples"] == ["10.50"]


@PROPERTY
@given(st.decimals(min_value=-(10**13) + 1, max_value=10**13 - 1, places=2))
def test_money_json_round_trip(amount: Decimal) -> None:
    invoice = Invoice(total="1", discount="0", balance=amount)  # type: ignore[arg-type]
    dumped = invoice.model_dump_json()
    assert Invoice.model_validate_json(dumped).balance == amount


def test_one_check_letter_scheme_for_st_and_lc_codes() -> None:
    from avelar_kit.br.codes import ENTRY_CODES, PRODUCT_CODES

    assert PRODUCT_CODES.make(123456) == "ST123456" + "ABCDEFGHJKLMNPQRSTVWXYZ"[123456 % 23]
    assert ENTRY_CODES.make(12345678) == "LC12345678Q"
    assert ENTRY_CODES.normalize(" lc 1234.5678-q ") == "LC12345678Q"
    with pytest.raises(ValueError, match="letra verificadora"):
        ENTRY_CODES.normalize("LC12345678A")
    with pytest.raises(ValueError, match="código de produto inválido"):
        PRODUCT_CODES.normalize("ST12345")
    for scheme in (PRODUCT_CODES, ENTRY_CODES):
        for number in (0, 1, 22, 23, scheme.space - 1):
            code = scheme.make(number)
            digits = code[2:-1]
            for i, d in enumerate(digits):
                for other in "0123456789":
                    if other != d:
                        typo = digits[:i] + other + digits[i + 1:]
                        assert scheme.check_letter(typo) != code[-1]


def test_one_brasilia_clock() -> None:
    from datetime import UTC, datetime

    from avelar_kit.br import clock

    # 02:00 UTC on the 1st is still the last day of the previous month in Brasília.
    assert clock.local_date(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)).isoformat() == "2026-11-30"
    start = clock.month_start()
    assert start.day == 1 and start.hour == 0 and start.utcoffset() is not None
    assert start.utcoffset().total_seconds() == -3 * 3600  # type: ignore[union-attr]

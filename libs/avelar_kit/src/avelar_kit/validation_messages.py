"""Validation messages in Portuguese, one per pydantic error type.

Pydantic writes its messages in English ("String should have at least 2 characters"); people
read ours. Each error type has a sentence here, formatted with the error's context (``min_length``,
``gt``, ``expected``...). A message a module wrote itself (a ``ValueError`` raised by its own
validator, type ``value_error`` or ``assertion_error``) is already Portuguese and is kept. A type
with no sentence here gets the generic one: never the English text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GENERIC = "valor inválido"

# Error types whose message is the module's own (raised by its validators).
_OWN_MESSAGE = frozenset({"value_error", "assertion_error"})

_MESSAGES: dict[str, str] = {
    "missing": "campo obrigatório",
    "missing_argument": "campo obrigatório",
    "missing_keyword_only_argument": "campo obrigatório",
    "missing_positional_only_argument": "campo obrigatório",
    "extra_forbidden": "campo não permitido",
    "unexpected_keyword_argument": "campo não permitido",
    "unexpected_positional_argument": "campo não permitido",
    "frozen_field": "campo não pode ser alterado",
    "frozen_instance": "campo não pode ser alterado",
    "json_invalid": "JSON inválido",
    "json_type": "JSON inválido",
    "none_required": "deve ser nulo",
    "model_type": "deve ser um objeto",
    "model_attributes_type": "deve ser um objeto",
    "dataclass_type": "deve ser um objeto",
    "dataclass_exact_type": "deve ser um objeto",
    "dict_type": "deve ser um objeto",
    "mapping_type": "deve ser um objeto",
    "arguments_type": "deve ser um objeto",
    "invalid_key": "chave inválida",
    "list_type": "deve ser uma lista",
    "tuple_type": "deve ser uma lista",
    "set_type": "deve ser uma lista",
    "frozen_set_type": "deve ser uma lista",
    "iterable_type": "deve ser uma lista",
    "set_item_not_hashable": "item inválido na lista",
    "too_short": "deve ter ao menos {min_length} item(ns)",
    "too_long": "deve ter no máximo {max_length} item(ns)",
    "string_type": "deve ser um texto",
    "string_unicode": "deve ser um texto válido",
    "string_not_ascii": "deve conter só caracteres ASCII",
    "string_too_short": "deve ter ao menos {min_length} caractere(s)",
    "string_too_long": "deve ter no máximo {max_length} caractere(s)",
    "string_pattern_mismatch": "formato inválido",
    "bytes_type": "deve ser um texto",
    "bytes_too_short": "deve ter ao menos {min_length} byte(s)",
    "bytes_too_long": "deve ter no máximo {max_length} byte(s)",
    "bytes_invalid_encoding": "codificação inválida",
    "bool_type": "deve ser verdadeiro ou falso",
    "bool_parsing": "deve ser verdadeiro ou falso",
    "int_type": "deve ser um número inteiro",
    "int_parsing": "deve ser um número inteiro",
    "int_from_float": "deve ser um número inteiro",
    "int_parsing_size": "número grande demais",
    "float_type": "deve ser um número",
    "float_parsing": "deve ser um número",
    "finite_number": "deve ser um número finito",
    "decimal_type": "deve ser um valor decimal",
    "decimal_parsing": "deve ser um valor decimal",
    "decimal_max_digits": "deve ter no máximo {max_digits} dígito(s)",
    "decimal_max_places": "deve ter no máximo {decimal_places} casa(s) decimal(is)",
    "decimal_whole_digits": "deve ter no máximo {whole_digits} dígito(s) antes da vírgula",
    "greater_than": "deve ser maior que {gt}",
    "greater_than_equal": "deve ser maior ou igual a {ge}",
    "less_than": "deve ser menor que {lt}",
    "less_than_equal": "deve ser menor ou igual a {le}",
    "multiple_of": "deve ser múltiplo de {multiple_of}",
    "enum": "deve ser um destes valores: {expected}",
    "literal_error": "deve ser um destes valores: {expected}",
    "union_tag_invalid": "tipo inválido: use um destes: {expected_tags}",
    "union_tag_not_found": "campo {discriminator} obrigatório",
    "date_type": "deve ser uma data (aaaa-mm-dd)",
    "date_parsing": "data inválida (use aaaa-mm-dd)",
    "date_from_datetime_parsing": "data inválida (use aaaa-mm-dd)",
    "date_from_datetime_inexact": "deve ser uma data sem horário",
    "date_past": "deve ser uma data no passado",
    "date_future": "deve ser uma data no futuro",
    "time_type": "deve ser um horário",
    "time_parsing": "horário inválido (use hh:mm)",
    "datetime_type": "deve ser data e hora",
    "datetime_parsing": "data e hora inválidas (use aaaa-mm-ddThh:mm:ss)",
    "datetime_object_invalid": "data e hora inválidas",
    "datetime_from_date_parsing": "data e hora inválidas (use aaaa-mm-ddThh:mm:ss)",
    "datetime_past": "deve ser uma data no passado",
    "datetime_future": "deve ser uma data no futuro",
    "timezone_naive": "não deve ter fuso horário",
    "timezone_aware": "deve ter fuso horário",
    "timezone_offset": "fuso horário inválido",
    "time_delta_type": "deve ser uma duração",
    "time_delta_parsing": "duração inválida",
    "uuid_type": "deve ser um identificador (UUID)",
    "uuid_parsing": "identificador inválido (UUID)",
    "uuid_version": "identificador inválido (UUID)",
    "url_type": "deve ser um endereço (URL)",
    "url_parsing": "endereço inválido (URL)",
    "url_syntax_violation": "endereço inválido (URL)",
    "url_too_long": "endereço longo demais (máximo {max_length} caracteres)",
    "url_scheme": "endereço deve começar com {expected_schemes}",
    "recursion_loop": "estrutura recursiva não permitida",
    "recursion_depth_exceeded": "estrutura profunda demais",
}


def _format(template: str, ctx: Mapping[str, Any]) -> str:
    try:
        return template.format(**{k: _ctx_value(v) for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError):
        # A context key this pydantic version does not give: the sentence without the figure.
        return template.split(" {", 1)[0].rstrip(":") if "{" in template else template


def _ctx_value(value: Any) -> str:
    text = str(value)
    # pydantic's "expected" lists are English ("'a', 'b' or 'c'"): ours say "ou".
    return text.replace(" or ", " ou ")


def message_pt(error: Mapping[str, Any]) -> str:
    """The Portuguese sentence for one pydantic error (an item of ``exc.errors()``)."""
    kind = str(error.get("type", ""))
    if kind in _OWN_MESSAGE:
        msg = str(error.get("msg", GENERIC))
        # Pydantic prefixes a validator's ValueError with "Value error, ".
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    template = _MESSAGES.get(kind)
    if template is None:
        return GENERIC
    return _format(template, error.get("ctx") or {})

"""OFX statements (v1 SGML and v2 XML) through ofxtools, with Brazilian banks' quirks.

ofxtools reads the header (charset) and the SGML tag soup; the transaction fields are read here,
leniently and one by one, so one odd line is reported instead of failing the whole file (banks
put 60 characters in NAME where the spec allows 32, use comma decimals, omit MEMO...).
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections import Counter
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError

from avelar_kit.br import MONEY_MAX_ABS
from lucrum.imports.parsed import (
    Entry,
    ParseResult,
    Rejection,
    StatementFormatError,
    check_entry,
    clean_text,
    derived_id,
)

_CHARSET_RE = re.compile(rb"CHARSET:\s*([\w-]+)", re.IGNORECASE)
_ENCODING_RE = re.compile(rb"ENCODING:\s*([\w-]+)", re.IGNORECASE)
_CHARSETS = {
    b"1252": b"1252", b"WINDOWS-1252": b"1252", b"CP1252": b"1252",
    b"ISO-8859-1": b"ISO-8859-1", b"8859-1": b"ISO-8859-1", b"ISO8859-1": b"ISO-8859-1",
    b"LATIN1": b"ISO-8859-1", b"LATIN-1": b"ISO-8859-1",
    b"NONE": b"NONE", b"UTF-8": b"NONE", b"UTF8": b"NONE",
}
_HEADER_SPAN = 600


def looks_like_ofx(data: bytes) -> bool:
    head = data[:_HEADER_SPAN].lstrip(b"\xef\xbb\xbf \t\r\n").upper()
    return head.startswith((b"OFXHEADER", b"<?XML", b"<OFX>"))


def _with_charset(data: bytes, charset: bytes) -> bytes:
    head, body = data[:_HEADER_SPAN], data[_HEADER_SPAN:]
    head = _CHARSET_RE.sub(b"CHARSET:" + charset, head, count=1)
    head = _ENCODING_RE.sub(b"ENCODING:USASCII", head, count=1)
    return head + body


def _normalize_header(data: bytes) -> bytes:
    data = data.lstrip(b"\xef\xbb\xbf")
    match = _CHARSET_RE.search(data[:_HEADER_SPAN])
    if match is None:
        return data
    # ofxtools only knows the spec's names; banks write the same charsets other ways.
    charset = _CHARSETS.get(match[1].upper(), b"1252")
    return _with_charset(data, charset)


def _parse_tree(data: bytes) -> Element:
    normalized = _normalize_header(data)
    tree = OFXTree()
    try:
        try:
            tree.parse(io.BytesIO(normalized))
        except UnicodeDecodeError:
            # Declared UTF-8 (or nothing) but written in Windows-1252, as many Brazilian banks do.
            tree = OFXTree()
            tree.parse(io.BytesIO(_with_charset(normalized, b"1252")))
    except (OFXHeaderError, ParseError, UnicodeDecodeError, ValueError, KeyError) as exc:
        raise StatementFormatError("Arquivo OFX inválido ou corrompido") from exc
    root = tree.getroot()
    if root is None:
        raise StatementFormatError("Arquivo OFX sem conteúdo")
    return root


def _text(element: Element, tag: str) -> str | None:
    value = element.findtext(tag)
    return clean_text(html.unescape(value)) or None if value else None


def _date(value: str | None) -> date:
    # DTPOSTED is YYYYMMDD[HHMMSS[.XXX]][[gmt offset:tz]]; the bank's calendar day is what the
    # statement shows, so the time and offset are ignored instead of shifting the day.
    if not value or not re.match(r"^\d{8}", value):
        raise ValueError("data (DTPOSTED) ausente ou inválida")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        raise ValueError("data (DTPOSTED) inválida") from None


def _amount(value: str | None) -> Decimal:
    if not value:
        raise ValueError("valor (TRNAMT) ausente")
    text = value.strip().replace(" ", "")
    if "," in text and "." in text:
        raise ValueError("valor (TRNAMT) com separadores ambíguos")
    text = text.replace(",", ".")
    if not re.fullmatch(r"[-+]?\d+(\.\d+)?", text):
        raise ValueError("valor (TRNAMT) inválido")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("valor (TRNAMT) inválido") from None
    if abs(amount) >= MONEY_MAX_ABS:
        # Checked before quantize, which raises InvalidOperation past 28 digits.
        raise ValueError("valor (TRNAMT) acima do limite de R$ 9.999.999.999.999,99")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("valor (TRNAMT) com mais de 2 casas decimais")
    return amount.quantize(Decimal("0.01"))


def parse_ofx(data: bytes) -> ParseResult:
    root = _parse_tree(data)
    result = ParseResult(format="ofx")
    occurrences: Counter[tuple[date, Decimal, str]] = Counter()
    for trn in root.iter("STMTTRN"):
        fitid = _text(trn, "FITID")
        try:
            when = _date(_text(trn, "DTPOSTED"))
            amount = _amount(_text(trn, "TRNAMT"))
            if amount == 0:
                raise ValueError("valor zero")
            check_entry(when, amount)
            parts: list[str] = []
            for tag in ("NAME", "MEMO"):
                text = clean_text(_text(trn, tag))
                if text and text not in parts:
                    parts.append(text)
            description = " - ".join(parts) or clean_text(_text(trn, "TRNTYPE")) or "Lançamento"
        except ValueError as exc:
            result.rejected.append(Rejection(str(exc), fitid=fitid))
            continue
        if fitid:
            external_id = (f"ofx:{fitid}" if len(fitid) <= 200
                           else f"ofx:sha:{hashlib.sha256(fitid.encode()).hexdigest()}")
        else:
            key = (when, amount, description)
            occurrences[key] += 1
            external_id = derived_id("ofx", when, amount, description, occurrences[key])
        result.add(Entry(external_id, when, amount, description[:500]), fitid=fitid)
    return result

"""Bank statement import: OFX and CSV, Brazilian quirks, duplicates skipped on re-import."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from lucrum.imports.csv_reader import parse_csv
from lucrum.imports.ofx import parse_ofx

DATA = Path(__file__).resolve().parent / "data"


async def _import(client: httpx.AsyncClient, company: Any, bank_id: str, name: str,
                  content: bytes | None = None, **form: str) -> httpx.Response:
    data = content if content is not None else (DATA / name).read_bytes()
    return await client.post(f"/api/bank-accounts/{bank_id}/import", headers=company.headers,
                             files={"file": (name, data, "application/octet-stream")},
                             data=form)


async def _descriptions(client: httpx.AsyncClient, company: Any) -> dict[str, str]:
    resp = await client.get("/api/financial-transactions", headers=company.headers,
                            params={"page_size": 200})
    return {t["description"]: t["amount"] if t["type"] == "income" else f"-{t['amount']}"
            for t in resp.json()["items"]}


async def test_ofx_cp1252_import_reads_accents_and_skips_everything_on_reimport(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company, opening_balance="0.00")
    resp = await _import(client, company, acc["id"], "itau_cp1252.ofx")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"format": "ofx", "imported": 5, "skipped_duplicates": 0,
                           "rejected": []}
    assert await _descriptions(client, company) == {
        "PIX RECEBIDO JOSÉ DA CONCEIÇÃO": "1500.00",
        "PADARIA SÃO JOÃO - COMPRA CARTÃO DÉBITO": "-89.90",
        "PAGTO CONTA LUZ - CEMIG DISTRIBUIÇÃO": "-245.37",
        "TARIFA MANUTENÇÃO PACOTE SERVIÇOS": "-29.90",
        "TED RECEBIDA - ANDRÉ LUÍS COMÉRCIO LTDA": "3200.50",
    }
    # The statement's closing balance (LEDGERBAL 4335.33) is what the ledger now says.
    assert await api.balance(company, acc["id"]) == "4335.33"

    again = await _import(client, company, acc["id"], "itau_cp1252.ofx")
    assert again.json() == {"format": "ofx", "imported": 0, "skipped_duplicates": 5,
                            "rejected": []}
    assert await api.balance(company, acc["id"]) == "4335.33"
    assert (await api.drift(company))["ok"] is True


async def test_ofx_with_a_duplicate_fitid_and_a_broken_line(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company)
    resp = await _import(client, company, acc["id"], "nubank_duplicate_fitid.ofx")
    body = resp.json()
    assert (body["imported"], body["skipped_duplicates"]) == (2, 1)
    assert body["rejected"] == [{"line": None, "fitid": "abc-003",
                                 "reason": "valor (TRNAMT) inválido"}]
    assert await api.balance(company, acc["id"]) == "64.50"
    again = (await _import(client, company, acc["id"], "nubank_duplicate_fitid.ofx")).json()
    assert (again["imported"], again["skipped_duplicates"]) == (0, 3)


async def test_ofx_declared_utf8_but_written_in_cp1252(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    raw = (DATA / "itau_cp1252.ofx").read_bytes()
    mislabeled = raw.replace(b"ENCODING:USASCII", b"ENCODING:UTF-8").replace(
        b"CHARSET:1252", b"CHARSET:NONE")
    with pytest.raises(UnicodeDecodeError):
        mislabeled.decode("utf-8")
    acc = await api.bank_account(company)
    resp = await _import(client, company, acc["id"], "itau.ofx", mislabeled)
    assert resp.json()["imported"] == 5
    assert "PADARIA SÃO JOÃO - COMPRA CARTÃO DÉBITO" in await _descriptions(client, company)


async def test_ofx_same_fitid_with_different_data_is_rejected_not_guessed() -> None:
    raw = (DATA / "nubank_duplicate_fitid.ofx").read_bytes()
    # Make the repeated abc-002 disagree on the amount.
    first = raw.index(b"<TRNAMT>-35.50")
    second = raw.index(b"<TRNAMT>-35.50", first + 1)
    changed = raw[:second] + b"<TRNAMT>-53.50" + raw[second + len(b"<TRNAMT>-35.50"):]
    result = parse_ofx(changed)
    assert [e.external_id for e in result.entries] == ["ofx:abc-001", "ofx:abc-002"]
    assert result.duplicates_in_file == 0
    assert {r.fitid for r in result.rejected} == {"abc-002", "abc-003"}


async def test_csv_latin1_with_comma_decimals(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company, opening_balance="1000.00")
    resp = await _import(client, company, acc["id"], "extrato_latin1_virgula.csv")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["format"] == "csv"
    # Two identical boleto lines on the same day are two real payments: both imported.
    assert (body["imported"], body["skipped_duplicates"]) == (5, 0)
    assert body["rejected"] == [
        {"line": 2, "fitid": None, "reason": "linha de saldo, não é lançamento"},
        {"line": 7, "fitid": None, "reason": "data inválida: '31/02/2025'"},
    ]
    descriptions = await _descriptions(client, company)
    assert descriptions["PAGAMENTO BOLETO - AÇOUGUE SÃO JORGE"] == "-89.90"
    assert descriptions["ALUGUEL ABRIL - IMOBILIÁRIA CONFIANÇA"] == "-2500.00"
    assert descriptions["PIX RECEBIDO - MARIA APARECIDA"] == "1234.56"
    # 1000 + 1234.56 - 89.90 - 89.90 - 12.50 - 2500.00
    assert await api.balance(company, acc["id"]) == "-457.74"
    again = (await _import(client, company, acc["id"], "extrato_latin1_virgula.csv")).json()
    assert (again["imported"], again["skipped_duplicates"]) == (0, 5)
    assert await api.balance(company, acc["id"]) == "-457.74"


async def test_csv_amounts_in_cents(client: httpx.AsyncClient, company: Any, api: Any) -> None:
    acc = await api.bank_account(company)
    resp = await _import(client, company, acc["id"], "extrato_centavos.csv")
    body = resp.json()
    assert (body["imported"], body["skipped_duplicates"]) == (3, 0)
    assert body["rejected"] == [{"line": 5, "fitid": None,
                                 "reason": "valor em centavos inválido: '12.5'"}]
    assert await _descriptions(client, company) == {
        "Venda balcão": "150.00", "Fornecedor peças": "-732.50", "Recebimento cartão": "99.99"}
    again = (await _import(client, company, acc["id"], "extrato_centavos.csv")).json()
    assert (again["imported"], again["skipped_duplicates"]) == (0, 3)


def test_csv_cents_only_when_asked_or_named() -> None:
    text = "Data;Descrição;Valor\n10/04/2025;Venda;1500\n".encode()
    assert parse_csv(text).entries[0].amount == Decimal("1500.00")
    assert parse_csv(text, "cents").entries[0].amount == Decimal("15.00")


def test_csv_with_type_column_and_credit_debit_columns() -> None:
    typed = "data;historico;valor;tipo\n01/05/2025;Compra;50,00;D\n02/05/2025;Venda;80,00;C\n"
    assert [e.amount for e in parse_csv(typed.encode()).entries] == [Decimal("-50.00"),
                                                                    Decimal("80.00")]
    split = "Data,Histórico,Crédito,Débito\n01/05/2025,Compra,,\"1.050,00\"\n" \
            "02/05/2025,Venda,\"80,10\",\n03/05/2025,Nada,,\n"
    result = parse_csv(split.encode("cp1252"))
    assert [e.amount for e in result.entries] == [Decimal("-1050.00"), Decimal("80.10")]
    assert [r.line for r in result.rejected] == [4]


async def test_concurrent_imports_of_the_same_file_import_once(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company)
    results = await asyncio.gather(*[
        _import(client, company, acc["id"], "itau_cp1252.ofx") for _ in range(3)])
    bodies = [r.json() for r in results]
    assert sum(b["imported"] for b in bodies) == 5
    assert sum(b["skipped_duplicates"] for b in bodies) == 10
    assert await api.balance(company, acc["id"]) == "4335.33"


async def test_bad_uploads(client: httpx.AsyncClient, company: Any, api: Any) -> None:
    acc = await api.bank_account(company)
    resp = await _import(client, company, acc["id"], "lixo.csv", b"isto nao e um extrato\n1;2\n")
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_statement"
    resp = await _import(client, company, acc["id"], "x.ofx", b"OFXHEADER:100\nDATA:???\n<OFX>")
    assert resp.status_code == 422
    resp = await _import(client, company, acc["id"], "vazio.csv", b"   \n")
    assert resp.status_code == 422
    resp = await client.post(f"/api/bank-accounts/{acc['id']}/import", headers=company.headers,
                             json={"file": "x"})
    assert resp.status_code == 422
    assert resp.json()["code"] == "file_required"
    resp = await _import(client, company, acc["id"], "extrato_centavos.csv",
                         amount_format="milhar")
    assert resp.status_code == 422
    big = b"Data;Descricao;Valor\n" + b"01/01/2025;x;1,00\n" * 300_000  # > 5 MB
    assert len(big) > 5 * 1024 * 1024
    resp = await _import(client, company, acc["id"], "grande.csv", big)
    assert resp.status_code == 413
    assert resp.json()["code"] == "payload_too_large"

    # The same without Content-Length (chunked): the body is cut off while it streams in.
    boundary = "lucrumteste"
    sent = 0

    async def chunks() -> Any:
        nonlocal sent
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
               f"filename=\"grande.csv\"\r\n\r\n").encode()
        for _ in range(4):  # ~20 MB offered
            for start in range(0, len(big), 256 * 1024):
                sent += 256 * 1024
                yield big[start:start + 256 * 1024]
        yield f"\r\n--{boundary}--\r\n".encode()

    resp = await client.post(
        f"/api/bank-accounts/{acc['id']}/import", content=chunks(),
        headers=company.headers | {"content-type": f"multipart/form-data; boundary={boundary}"})
    assert "content-length" not in resp.request.headers
    assert resp.status_code == 413
    assert sent < 2 * len(big), "the upload should have been cut off near the limit"
    assert (await client.get("/api/financial-transactions",
                             headers=company.headers)).json()["total"] == 0


def _ofx(transactions: bytes) -> bytes:
    return (b"OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
            b"CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
            b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><BANKTRANLIST>" + transactions
            + b"</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>")


def _trn(fitid: bytes, when: bytes, amount: bytes, memo: bytes = b"x") -> bytes:
    return (b"<STMTTRN><TRNTYPE>OTHER<DTPOSTED>" + when + b"<TRNAMT>" + amount
            + b"<FITID>" + fitid + b"<MEMO>" + memo + b"</STMTTRN>")


def test_out_of_range_lines_are_rejected_with_why_not_a_crash() -> None:
    # Each of these used to escape as decimal.InvalidOperation (500) or reach the database as
    # a NUMERIC overflow (a generic 422 for the whole file).
    ofx = parse_ofx(_ofx(
        _trn(b"A1", b"20250101", b"9" * 60) + _trn(b"A2", b"20250101", b"99999999999999.00")
        + _trn(b"A3", b"00010101", b"1.00") + _trn(b"A4", b"99991231", b"1.00")
        + _trn(b"A5", b"20250101", b"9999999999999.99")
    ))
    assert [(r.fitid, r.reason.split(" (")[0].split(" acima")[0]) for r in ofx.rejected] == [
        ("A1", "valor"), ("A2", "valor"), ("A3", "data fora do intervalo aceito"),
        ("A4", "data fora do intervalo aceito")]
    assert [e.amount for e in ofx.entries] == [Decimal("9999999999999.99")]

    cents = parse_csv(b"data;descricao;valor_centavos\n01/02/2025;a;" + b"9" * 40 + b"\n"
                      b"01/02/2025;b;999999999999999\n")
    assert [r.line for r in cents.rejected] == [2]
    assert [e.amount for e in cents.entries] == [Decimal("9999999999999.99")]
    plain = parse_csv(b"data;descricao;valor\n01/02/2025;a;10000000000000,00\n"
                      b"31/12/9999;b;1,00\n")
    assert [(r.line, r.reason[:10]) for r in plain.rejected] == [(2, "valor acim"),
                                                                 (3, "data fora ")]


def test_control_characters_and_utf16_statements() -> None:
    nul = parse_csv(b"data;descricao;valor;id\n01/02/2025;caf\x00e\x01 x;10,00;a\x00b\n")
    assert [(e.description, e.external_id) for e in nul.entries] == [("caf e x", "csv:id:a b")]
    ofx = parse_ofx(_ofx(_trn(b"F\x001", b"20250101", b"1.00", b"p\x00ix")))
    assert [(e.description, e.external_id) for e in ofx.entries] == [("p ix", "ofx:F 1")]
    utf16 = parse_csv("Data\tDescrição\tValor\n01/02/2025\tCafé\t1,50\n".encode("utf-16"))
    assert [(e.description, e.amount) for e in utf16.entries] == [("Café", Decimal("1.50"))]


async def test_broken_and_out_of_range_files_over_http(
    client: httpx.AsyncClient, company: Any, api: Any
) -> None:
    acc = await api.bank_account(company, opening_balance="100.00")
    unclosed = b'data;descricao;valor\n01/02/2025;"' + b"x" * 200_000 + b"\n"
    resp = await _import(client, company, acc["id"], "aspas.csv", unclosed)
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == "invalid_statement"

    mixed = (b"data;descricao;valor_centavos\n01/02/2025;ok;150\n01/02/2025;enorme;"
             + b"9" * 40 + b"\n01/02/2025;nul\x00;200\n")
    resp = await _import(client, company, acc["id"], "mix.csv", mixed)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["imported"], [r["line"] for r in resp.json()["rejected"]]) == (2, [3])
    resp = await _import(client, company, acc["id"], "x.ofx",
                         _ofx(_trn(b"Z\x009", b"20250101", b"9" * 60)
                              + _trn(b"Z\x001", b"20250102", b"-0.50", b"t\x00arifa")))
    assert resp.status_code == 200, resp.text
    assert (resp.json()["imported"], len(resp.json()["rejected"])) == (1, 1)
    assert await api.balance(company, acc["id"]) == "103.00"
    assert (await api.drift(company))["ok"] is True

"""Typed dependencies shared by Lucrum's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from avelar_kit.auth.caller import Caller, get_user_caller
from avelar_kit.auth.permissions import require, require_feature
from lucrum.transactions.codes import CodeGenerator

# Every Lucrum route needs a user of a company that has the module enabled (the kit's caller
# resolver checks the module); actions beyond reading also need a permission of the matrix.
LucrumUser = Annotated[Caller, Depends(get_user_caller)]
CanCreateBankAccount = Annotated[Caller, require("bank_accounts.create")]
CanUpdateBankAccount = Annotated[Caller, require("bank_accounts.update")]
CanDeleteBankAccount = Annotated[Caller, require("bank_accounts.delete")]
CanCreateCategory = Annotated[Caller, require("categories.create")]
CanUpdateCategory = Annotated[Caller, require("categories.update")]
CanDeleteCategory = Annotated[Caller, require("categories.delete")]
CanCreateEntry = Annotated[Caller, require("entries.create")]
CanUpdateEntry = Annotated[Caller, require("entries.update")]
CanDeleteEntry = Annotated[Caller, require("entries.delete")]
CanCreateTransfer = Annotated[Caller, require("transfers.create")]
CanDeleteTransfer = Annotated[Caller, require("transfers.delete")]
CanImport = Annotated[Caller, require("imports.create")]
# The plan's `reports` feature opens the reports (issue 11); the drift check is not one.
ReportsFeature = Annotated[Caller, require_feature("reports")]


async def _code_generator(request: Request) -> CodeGenerator:
    gen: CodeGenerator = request.app.state.code_generator
    return gen


CodeGeneratorDep = Annotated[CodeGenerator, Depends(_code_generator)]

"""Talking to AvAdmin: models of its internal API and the reader protocol every module uses."""

from avelar_kit.avadmin.models import AvAdminAccount, AvAdminPlan, AvAdminUser, PlanSummary
from avelar_kit.avadmin.protocol import AvAdminReader

__all__ = ["AvAdminAccount", "AvAdminPlan", "AvAdminReader", "AvAdminUser", "PlanSummary"]

"""Statistical disclosure control: no published number discloses a group of fewer than
``min_cell_size`` students, directly or by derivation (see ``report_specs/policy.yaml``)."""

from site_builder.disclosure.audit import (
           AuditReport,
           Failure,
           audit_cells,
           audit_published,
           audit_site,
)
from site_builder.disclosure.policy import Policy, load_policy
from site_builder.disclosure.protect import ProtectionError, protect
from site_builder.disclosure.report import render_markdown, suppression_report

__all__ = ["AuditReport", "Failure", "Policy", "ProtectionError", "audit_cells",
           "audit_published", "audit_site", "load_policy", "protect", "render_markdown",
           "suppression_report"]

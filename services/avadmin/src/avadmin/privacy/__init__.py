"""LGPD: a person's export (art. 18, II and V) and erasure (art. 18, VI) across the modules
(docs/privacy.md, ADR 0017)."""

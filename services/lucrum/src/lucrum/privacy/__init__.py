"""The person's data Lucrum holds, for AvAdmin's LGPD export (docs/privacy.md)."""

"""The person's data StockTech holds, for AvAdmin's LGPD export (docs/privacy.md)."""

"""WhatsApp notifications: events in (StockTech's purchases, the billing events), messages out
through the delivery outbox, for companies whose plan has the ``whatsapp`` feature."""

"""Messaging: a port (``MessagingPort``), the WhatsApp Cloud API adapter, the templates AvelarSys
sends, and the delivery outbox (``whatsapp_messages``) drained after the commit by the
dispatcher, with retries, backoff and a dead-letter status."""

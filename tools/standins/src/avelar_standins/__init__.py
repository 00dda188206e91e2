"""Stand-ins for external services (dev stack and tests only, never imported by a service).

Each stand-in is a small FastAPI app in its own module of this package (``mercadopago``,
``whatsapp``) that speaks the real service's published HTTP shapes, so the services' real
adapters are exercised over real HTTP.
"""

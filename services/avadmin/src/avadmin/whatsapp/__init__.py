"""WhatsApp numbers: verification codes (OTP), their limits, and the verify endpoints."""

"""Payments by Stripe Checkout or bank transfer, refunds and payment documents."""

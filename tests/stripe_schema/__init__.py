"""Stripe's object types from the pinned `stripe` package, as the sandbox is held to them."""

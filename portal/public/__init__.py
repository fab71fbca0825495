"""Public pages: the landing page with live figures, language choice, health check."""

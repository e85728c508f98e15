"""Fairness and monitoring pages for managers and operators (behind sign-in)."""

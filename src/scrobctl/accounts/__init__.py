"""Logging in, staying logged in, and logging out: one module per service's flow."""

"""Operator console: server-rendered pages over the other services' HTTP APIs."""

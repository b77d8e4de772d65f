"""A service's ``env.py`` in its smallest form: everything is in common.migrations."""

from common.migrations import run_env

run_env()

"""``rcm``: the operator command line of the suite (SPEC 11)."""

from common.http.auth import Principal, TokenVerifier, current_principal, require_scopes
from common.http.problems import Problem, not_found

__all__ = [
    "Principal",
    "Problem",
    "TokenVerifier",
    "current_principal",
    "not_found",
    "require_scopes",
]

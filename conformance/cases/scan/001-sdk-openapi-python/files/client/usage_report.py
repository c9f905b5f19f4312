"""Reads usage for a tenant."""

REQUIRED_SCOPES = ("token_factory:usage:read", "token_factory:usage:export")

# Near-misses, none of them a scope of a known namespace:
WINDOW = "00:15:00"
RATIO = "16:9:1"
NESTED = "a:b:c:d"
UPPER = "token_factory:Usage:read"
SHORT = "token_factory:usage"
DOTTED = "token_factory:usage:read.v2"


def report(client, tenant: str) -> dict:
    """Usage of ``tenant``; needs token_factory:usage:read."""
    return client.get(f"/v1/token-factory/usage/{tenant}", scopes=REQUIRED_SCOPES)

"""Redis URL helpers: the one place a password is kept out of messages."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

MASK = "***"


def mask_password(url: str) -> str:
    """`url` with the password of its user info replaced by `***`.

    `redis://:secret@host:6379/3` becomes `redis://:***@host:6379/3`; a URL without a password
    is returned unchanged. An unparsable URL is returned without its user info at all.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.rpartition("@")[2]
    if password is None:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{hostinfo}"))

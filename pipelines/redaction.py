"""Remove secrets from text before it is logged, alerted or raised.

What counts as a secret here:
- a Solana keypair in base58 (64 bytes whose second half is the public key of the first half; a transaction
  signature is also 64 bytes of base58 but fails that check, so signatures stay readable in the trade log),
- a JSON / Python list of 64 small ints (the Solana CLI keypair file format),
- 128 hex characters (64 raw bytes in hex),
- `Bearer <token>`, Telegram bot tokens (`123456:AA...`), and `api-key=` / `token=` style URL parameters,
- API keys in the PATH of an RPC/WebSocket URL (`redact_url`): QuickNode `https://x.solana-mainnet.quiknode.pro/
  <token>/`, Alchemy `https://solana-mainnet.g.alchemy.com/v2/<key>`, Triton `https://x.rpcpool.com/<key>`,
  GetBlock, Chainstack, Ankr, Syndica...; on any host: a password in the URL, a hex key (32+), a UUID, the first
  path segment when it is a long token, and a long token after `v1`/`v2`/`rpc`/`solana`/`api-key`-like segments.
  Explorer links stay readable (`https://solscan.io/tx/<signature>`: a signature after `tx` is not a key),
- any exact string registered as a secret (the API token, the bot token, the loaded wallet's encodings).

Pure text in, text out; `Redactor` holds only the registered secrets.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

_B58_64 = re.compile(r"(?<![1-9A-HJ-NP-Za-km-z])[1-9A-HJ-NP-Za-km-z]{85,90}(?![1-9A-HJ-NP-Za-km-z])")
_INT_ARRAY_64 = re.compile(r"\[\s*(?:\d{1,3}\s*,\s*){63}\d{1,3}\s*,?\s*\]")
_HEX_64 = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{128}(?![0-9a-fA-F])")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_BOT_TOKEN = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}")
_URL_SECRET_PARAM = re.compile(r"(?i)([?&](?:api[-_]?key|token|access[-_]?token|key|secret)=)[^&#\s\"']+")
_URL = re.compile(r"(?i)\b(?:https?|wss?)://[^\s\"'<>`]+")
_TOKEN_SEGMENT = re.compile(r"[A-Za-z0-9_.~=+-]+")
_SEGMENT_CORE = re.compile(r"[A-Za-z0-9_.~=+-]*")
_HEX_KEY = re.compile(r"[0-9a-fA-F]{32,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
# RPC providers that put the key in the path: every token-like segment of theirs is a key
KEY_IN_PATH_HOSTS = ("quiknode.pro", "alchemy.com", "alchemyapi.io", "rpcpool.com", "helius-rpc.com",
                     "helius.xyz", "getblock.io", "chainstack.com", "p2pify.com", "blastapi.io", "ankr.com",
                     "syndica.io", "extrnode.com", "shyft.to", "nodereal.io", "allthatnode.com", "drpc.org")
# a long token right after one of these segments is a key on any host (".../v2/<key>", ".../api-key/<key>")
_KEY_AFTER = frozenset({"v1", "v2", "v3", "rpc", "ws", "solana", "mainnet", "api-key", "apikey", "api_key", "key",
                        "token", "access-token", "access_token", "auth", "secret"})
_MIN_KEY = 16          # shorter path segments are names ("v2", "solana", "rpc"), not keys


def _path_segment_is_key(seg: str, prev: str, index: int, provider: bool) -> bool:
    if len(seg) < _MIN_KEY and not (provider and len(seg) >= 12):
        return False
    if not _TOKEN_SEGMENT.fullmatch(seg):
        return False
    if provider or _HEX_KEY.fullmatch(seg) or _UUID.fullmatch(seg):
        return True
    return index == 0 or prev.lower() in _KEY_AFTER


def redact_url(url: str) -> str:
    """The URL with whatever may authenticate it replaced by [REDACTED]: a password, secret query parameters and
    keys in the path (see the module docstring). Never raises; the scheme, host and port stay readable."""
    if not isinstance(url, str) or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:                          # user:password@host: the credentials go whole
        authority = REDACTED + "@" + authority.rsplit("@", 1)[1]
    host = authority.rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
    provider = any(host == h or host.endswith("." + h) for h in KEY_IN_PATH_HOSTS)
    q = min((i for i in (tail.find("?"), tail.find("#")) if i >= 0), default=len(tail))
    path, after = tail[:q], tail[q:]
    segs = path.split("/")
    prev, index = "", 0
    for i, seg in enumerate(segs):
        core = _SEGMENT_CORE.match(seg).group(0)   # "key)" or "key," in prose: the punctuation is not the key's
        if not core:
            continue
        if _path_segment_is_key(core, prev, index, provider):
            segs[i] = REDACTED + seg[len(core):]
        prev, index = core, index + 1
    after = _URL_SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, after)
    return f"{scheme}://{authority}{'/'.join(segs)}{after}"


def is_keypair_base58(text: str) -> bool:
    """True when `text` decodes to 64 bytes that form a valid ed25519 keypair (secret then public key)."""
    from solders.keypair import Keypair

    try:
        Keypair.from_base58_string(text)
    except Exception:  # noqa: BLE001 - solders raises ValueError for every malformed input
        return False
    return True


def _drop_keypairs(text: str) -> str:
    return _B58_64.sub(lambda m: REDACTED if is_keypair_base58(m.group(0)) else m.group(0), text)


def redact_patterns(text: str) -> str:
    """Redact everything that looks like a secret, without knowing any secret in advance."""
    if not text:
        return text
    text = _INT_ARRAY_64.sub(REDACTED, text)
    text = _HEX_64.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _BOT_TOKEN.sub(REDACTED, text)
    text = _URL_SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)
    if "://" in text:
        text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    if len(text) >= 85:
        text = _drop_keypairs(text)
    return text


class Redactor:
    """Pattern redaction plus exact known secrets (longest first, so a secret containing another goes whole)."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        # Very short strings would shred ordinary text; a real token is never that short.
        new = {s for s in secrets if isinstance(s, str) and len(s) >= 6}
        self._secrets = tuple(sorted(set(self._secrets) | new, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        if not isinstance(text, str) or not text:
            return text
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return redact_patterns(text)

    def value(self, obj):
        """Redact inside a log record's extra value: strings, lists of 64 ints, nested lists/dicts."""
        if isinstance(obj, str):
            return self(obj)
        if isinstance(obj, (bytes, bytearray)):
            return REDACTED if len(obj) == 64 else obj.hex()
        if isinstance(obj, (list, tuple)):
            if len(obj) == 64 and all(isinstance(x, int) and 0 <= x < 256 for x in obj):
                return REDACTED
            return [self.value(x) for x in obj]
        if isinstance(obj, dict):
            return {str(k): self.value(v) for k, v in obj.items()}
        return obj

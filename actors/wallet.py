"""Load the trading wallet's keypair from a file or an environment variable, without ever leaking it.

Sources, in order: `execution.wallet_key_file` (a JSON array of 64 integers, the Solana CLI `id.json` format)
if set, else the environment variable named by `execution.wallet_key_env` holding either that JSON array or the
base58 64-byte secret (the Phantom / solana-keygen export format). A set-but-broken file is an error: it never
falls back to the environment.

Every error message is built here from fixed words and sizes: no part of the key, no library message (some
quote the offending character), and no chained or context exception (a JSON decode error keeps the whole input
in `.doc`): errors are raised outside `except` blocks so `__context__` stays empty. A loaded key's encodings are
registered with the log redactor, and `Wallet` prints as nothing but its public key and refuses to be pickled,
so the secret never travels through Ray's object store or onto disk.
"""
from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from pipelines.config import ExecutionConfig

log = logging.getLogger("launchray.wallet")

B58_ALPHABET = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
MAX_KEY_FILE_BYTES = 16 * 1024  # an id.json is ~250 bytes; refuse to slurp anything big


class WalletError(ValueError):
    """The wallet key is missing or malformed. The message never contains key material."""


def load_wallet(cfg: ExecutionConfig, env: Mapping[str, str] | None = None) -> Keypair:
    """The keypair from `cfg.wallet_key_file` or the `cfg.wallet_key_env` variable; raises WalletError."""
    env = os.environ if env is None else env
    if cfg.wallet_key_file:
        keypair = _from_file(Path(cfg.wallet_key_file).expanduser())
    else:
        raw = env.get(cfg.wallet_key_env, "") if cfg.wallet_key_env else ""
        if not raw.strip():
            raise WalletError("no wallet key: set execution.wallet_key_file to a keypair file, or the "
                              f"{cfg.wallet_key_env or 'LAUNCHRAY_WALLET_KEY'} environment variable")
        keypair = _from_text(raw, f"environment variable {cfg.wallet_key_env}", allow_base58=True)
    _register_with_logs(keypair)
    return keypair


def _from_file(path: Path) -> Keypair:
    where = f"wallet key file {path}"
    raw, problem = None, None
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            problem = "not a regular file"
        elif info.st_size > MAX_KEY_FILE_BYTES:
            problem = f"{info.st_size} bytes is too big for a keypair file"
        else:
            if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                log.warning("%s is readable by other users (mode %o); chmod 600 it", where, info.st_mode & 0o777)
            raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "no such file"
    except PermissionError:
        problem = "permission denied"
    except UnicodeDecodeError:
        problem = "not a text file (expected a JSON array of 64 integers)"
    except OSError as exc:
        problem = f"cannot read ({type(exc).__name__})"
    # Raised outside the except blocks: the WalletError carries no __context__ (a decode error holds the bytes).
    if problem is not None:
        raise WalletError(f"{where}: {problem}")
    return _from_text(raw, where, allow_base58=False)


def _from_text(raw: str, where: str, *, allow_base58: bool) -> Keypair:
    text = raw.strip().strip("\"'").strip()
    if text.startswith("["):
        return _from_json_array(text, where)
    if not allow_base58:
        raise WalletError(f"{where}: expected a JSON array of 64 integers (Solana CLI keypair format)")
    return _from_base58(text, where)


def _from_json_array(text: str, where: str) -> Keypair:
    try:
        values = json.loads(text)
    except ValueError:
        values = None
    if not isinstance(values, list):
        raise WalletError(f"{where}: not a valid JSON array (expected 64 integers, Solana CLI keypair format)")
    if len(values) != 64:
        raise WalletError(f"{where}: expected 64 integers, found {len(values)}")
    if not all(type(v) is int and 0 <= v <= 255 for v in values):
        raise WalletError(f"{where}: every item must be an integer from 0 to 255")
    return _keypair_from_bytes(bytes(values), where)


def _from_base58(text: str, where: str) -> Keypair:
    if not text or not set(text) <= B58_ALPHABET:
        raise WalletError(f"{where}: not base58 (characters outside the base58 alphabet) and not a JSON array")
    keypair, reason = None, None
    try:
        keypair = Keypair.from_base58_string(text)
    except Exception as exc:  # noqa: BLE001 - the library's words are mapped, never passed through
        reason = {"TooShort": "too short for a 64-byte keypair", "TooLong": "too long for a 64-byte keypair",
                  "OutputTooLong": "too long for a 64-byte keypair",
                  "signature error": "its public half does not match its secret half"}.get(str(exc), "invalid")
    if keypair is None:
        raise WalletError(f"{where}: not a valid base58 keypair: {reason}")
    return keypair


def _keypair_from_bytes(raw: bytes, where: str) -> Keypair:
    keypair = None
    try:
        keypair = Keypair.from_bytes(raw)
    except Exception:  # noqa: BLE001
        pass
    if keypair is None:
        raise WalletError(f"{where}: the last 32 bytes are not the public key of the first 32 "
                          "(corrupted or not a Solana keypair)")
    return keypair


def _register_with_logs(keypair: Keypair) -> None:
    from actors.logs import register_secret

    secret = bytes(keypair)
    register_secret(str(keypair), json.dumps(list(secret)), json.dumps(list(secret), separators=(",", ":")),
                    secret.hex())


class Wallet:
    """The signing keypair behind a wall: str/repr show the public key only, and it cannot be pickled."""

    __slots__ = ("_keypair",)

    def __init__(self, keypair: Keypair):
        self._keypair = keypair

    @classmethod
    def from_config(cls, cfg: ExecutionConfig, env: Mapping[str, str] | None = None) -> "Wallet":
        return cls(load_wallet(cfg, env))

    @property
    def pubkey(self) -> Pubkey:
        return self._keypair.pubkey()

    @property
    def keypair(self) -> Keypair:
        """For solders' transaction signing (VersionedTransaction(message, [wallet.keypair]))."""
        return self._keypair

    def sign_message(self, message: bytes) -> Signature:
        return self._keypair.sign_message(message)

    def __repr__(self) -> str:
        return f"Wallet(pubkey={self.pubkey})"

    def __str__(self) -> str:
        return str(self.pubkey)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other) -> bool:
        return isinstance(other, Wallet) and other.pubkey == self.pubkey

    def __hash__(self) -> int:
        return hash(self.pubkey)

    def __reduce__(self):
        raise TypeError("a Wallet is not serialisable: load it in the actor that signs (Wallet.from_config)")

    def __getstate__(self):
        raise TypeError("a Wallet is not serialisable: load it in the actor that signs (Wallet.from_config)")

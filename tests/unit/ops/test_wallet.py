import json
import pickle
import traceback

import pytest
from solders.keypair import Keypair

from actors.logs import SECRETS
from actors.wallet import Wallet, WalletError, load_wallet
from pipelines.config import ExecutionConfig

ENV = "LAUNCHRAY_WALLET_KEY"


def cfg(**kw):
    return ExecutionConfig(**kw)


def leaked_fragments(text: str, secret_b58: str, secret_bytes: bytes) -> list[str]:
    """Pieces of the key found in `text`: any 6 characters of its base58, or any 4 consecutive byte values."""
    found = [secret_b58[i:i + 6] for i in range(len(secret_b58) - 5) if secret_b58[i:i + 6] in text]
    compact = text.replace(" ", "")
    values = list(secret_bytes)
    for i in range(len(values) - 3):
        run = ",".join(map(str, values[i:i + 4]))
        if run in compact:
            found.append(run)
    return found


def full_error_text(exc: BaseException) -> str:
    return str(exc) + repr(exc) + "".join(traceback.format_exception(exc))


def test_loads_the_solana_cli_json_file(tmp_path):
    kp = Keypair()
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(bytes(kp))))
    path.chmod(0o600)
    loaded = load_wallet(cfg(wallet_key_file=str(path)), env={})
    assert loaded.pubkey() == kp.pubkey() and bytes(loaded) == bytes(kp)


def test_loads_base58_or_json_from_the_environment():
    kp = Keypair()
    assert load_wallet(cfg(), env={ENV: str(kp)}).pubkey() == kp.pubkey()
    assert load_wallet(cfg(), env={ENV: f'  "{kp}"\n'}).pubkey() == kp.pubkey()      # quoted, padded
    assert load_wallet(cfg(), env={ENV: json.dumps(list(bytes(kp)))}).pubkey() == kp.pubkey()
    assert load_wallet(cfg(wallet_key_env="OTHER"), env={"OTHER": str(kp)}).pubkey() == kp.pubkey()


def test_the_file_wins_and_a_broken_file_never_falls_back_to_the_environment(tmp_path):
    a, b = Keypair(), Keypair()
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(bytes(a))))
    assert load_wallet(cfg(wallet_key_file=str(path)), env={ENV: str(b)}).pubkey() == a.pubkey()
    with pytest.raises(WalletError, match="no such file"):
        load_wallet(cfg(wallet_key_file=str(tmp_path / "missing.json")), env={ENV: str(b)})


def test_no_key_anywhere_says_where_to_put_one():
    with pytest.raises(WalletError) as err:
        load_wallet(cfg(), env={})
    assert "wallet_key_file" in str(err.value) and ENV in str(err.value)


def _malformed_inputs(kp: Keypair):
    b58 = str(kp)
    raw = list(bytes(kp))
    swapped = raw[:32] + list(bytes(Keypair()))[32:]              # halves from two different keys
    bad_char = b58[:20] + ("0" if b58[20] != "0" else "O") + b58[21:]  # 0 / O are not base58
    return {
        "base58 with a bad character": {ENV: bad_char},
        "base58 truncated": {ENV: b58[:-6]},
        "base58 with a changed character": {ENV: b58[:30] + ("2" if b58[30] != "2" else "3") + b58[31:]},
        "array of 63": {ENV: json.dumps(raw[:63])},
        "array with 256": {ENV: json.dumps(raw[:10] + [256] + raw[11:])},
        "array with a string": {ENV: json.dumps(raw[:10] + ["x"] + raw[11:])},
        "array not closed": {ENV: json.dumps(raw)[:-1]},
        "mismatched halves": {ENV: json.dumps(swapped)},
    }, b58


@pytest.mark.parametrize("case", range(8))
def test_malformed_key_errors_never_contain_key_material(case):
    kp = Keypair()
    inputs, b58 = _malformed_inputs(kp)
    name, env = list(inputs.items())[case]
    with pytest.raises(WalletError) as err:
        load_wallet(cfg(), env=env)
    text = full_error_text(err.value)
    assert err.value.__cause__ is None and err.value.__context__ is None, name   # nothing hidden behind it
    assert leaked_fragments(text, b58, bytes(kp)) == [], f"{name}: {text}"
    given = env[ENV]
    if given.startswith("["):      # an array: no run of 4 of its values may show (line numbers are short runs)
        values = [v for v in given.strip("[]").replace('"x"', "").split(",") if v.strip().isdigit()]
        assert leaked_fragments(text, "", bytes(int(v) % 256 for v in values)) == [], f"{name}: {text}"
    else:                          # base58: no 6 characters of what was given
        assert leaked_fragments(text, given, b"") == [], f"{name}: {text}"
    assert f"environment variable {ENV}" in str(err.value)


def test_malformed_file_errors_never_contain_key_material(tmp_path):
    kp = Keypair()
    path = tmp_path / "id.json"
    raw = list(bytes(kp))
    for content in (json.dumps(raw)[:-3], json.dumps(raw[:-1]), str(kp), json.dumps({"key": raw})):
        path.write_text(content)
        with pytest.raises(WalletError) as err:
            load_wallet(cfg(wallet_key_file=str(path)), env={})
        text = full_error_text(err.value)
        assert leaked_fragments(text, str(kp), bytes(kp)) == [], text
        assert err.value.__context__ is None
        assert str(path) in str(err.value)


def test_a_big_or_binary_file_is_refused_without_reading_it_into_the_message(tmp_path):
    big = tmp_path / "big.json"
    big.write_text("[" + ",".join(["1"] * 20000) + "]")
    with pytest.raises(WalletError, match="too big"):
        load_wallet(cfg(wallet_key_file=str(big)), env={})
    binary = tmp_path / "bin.json"
    binary.write_bytes(bytes(Keypair()) + b"\xff\xfe")
    with pytest.raises(WalletError, match="not a text file"):
        load_wallet(cfg(wallet_key_file=str(binary)), env={})


def test_world_readable_key_file_is_warned_about(tmp_path, caplog):
    kp = Keypair()
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(bytes(kp))))
    path.chmod(0o644)
    load_wallet(cfg(wallet_key_file=str(path)), env={})
    assert "chmod 600" in caplog.text and str(kp) not in caplog.text


def test_wallet_shows_only_its_public_key_and_refuses_to_be_pickled():
    kp = Keypair()
    w = Wallet(kp)
    pub = str(kp.pubkey())
    assert str(w) == pub and repr(w) == f"Wallet(pubkey={pub})" and f"{w}" == pub and f"{w:>50}".strip() == pub
    for shown in (str(w), repr(w), f"{w!r}", str([w]), str({"w": w})):
        assert str(kp) not in shown and leaked_fragments(shown, str(kp), bytes(kp)) == []
    with pytest.raises(TypeError, match="not serialisable"):
        pickle.dumps(w)
    assert w.sign_message(b"hello") == kp.sign_message(b"hello")
    assert w == Wallet(Keypair.from_bytes(bytes(kp))) and hash(w) == hash(Wallet(kp))


def test_loading_registers_the_key_with_the_log_redactor():
    kp = Keypair()
    w = Wallet.from_config(cfg(), env={ENV: str(kp)})
    assert w.pubkey == kp.pubkey()
    for form in (str(kp), json.dumps(list(bytes(kp))), bytes(kp).hex()):
        assert SECRETS(f"x{form}x") == "x[REDACTED]x"

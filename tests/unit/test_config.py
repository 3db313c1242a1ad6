import pytest

from pipelines.config import ConfigError, config_with, load_config


def test_default_profile_is_simnet_paper_with_the_users_limits():
    cfg = load_config("sim", env={})
    assert cfg.chain.source == "simnet"
    assert cfg.execution.mode == "paper"
    # REQUIREMENTS.md numbers
    assert cfg.risk.max_open_positions == 10
    assert cfg.risk.max_concentration == 0.30
    assert cfg.risk.max_portfolio_heat == 0.80
    assert cfg.risk.daily_loss_limit == 0.10
    assert cfg.risk.drawdown_halt == 0.15
    assert cfg.risk.consecutive_loss_pause == 5
    assert cfg.risk.reservation_ttl_s == 300
    assert cfg.exits.stop_loss == 0.15
    assert (cfg.scoring.w_profit, cfg.scoring.w_risk, cfg.scoring.w_capital, cfg.scoring.w_bonus) == (0.4, 0.3, 0.2, 0.1)
    assert cfg.orchestrator.loop_ms == 10
    assert cfg.execution.slippage_bps == 500


def test_live_profile_extends_paper_and_tightens_size():
    cfg = load_config("live", env={})
    assert cfg.execution.mode == "live"
    assert cfg.chain.source == "rpc"          # from paper.toml
    assert cfg.risk.max_position_sol == 0.1   # live override
    assert cfg.simnet.seed == 7               # inherited from sim.toml through paper.toml


def test_unknown_key_names_key_and_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[risk]\nmax_open_positon = 3\n")
    with pytest.raises(ConfigError) as exc:
        load_config(p, env={})
    assert "risk.max_open_positon" in str(exc.value)
    assert "unknown key" in str(exc.value)
    assert str(p) in str(exc.value)


def test_invalid_value_names_key(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[risk]\nmax_concentration = 2.0\n")
    with pytest.raises(ConfigError, match=r"risk\.max_concentration"):
        load_config(p, env={})


def test_broken_toml_and_missing_file_are_clear(tmp_path):
    p = tmp_path / "broken.toml"
    p.write_text("[risk\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p, env={})
    with pytest.raises(ConfigError, match="no such profile"):
        load_config(tmp_path / "nope.toml", env={})


def test_environment_overrides_single_keys_and_are_validated():
    cfg = load_config("sim", env={"LAUNCHRAY__RISK__MAX_OPEN_POSITIONS": "3",
                                  "LAUNCHRAY__CHAIN__COMMITMENT": "finalized"})
    assert cfg.risk.max_open_positions == 3
    assert cfg.chain.commitment == "finalized"
    with pytest.raises(ConfigError, match="environment"):
        load_config("sim", env={"LAUNCHRAY__RISK__BOGUS": "1"})


def test_rpc_source_requires_urls(tmp_path):
    p = tmp_path / "rpc.toml"
    p.write_text('[chain]\nsource = "rpc"\n')
    with pytest.raises(ConfigError, match="rpc_http"):
        load_config(p, env={})


def test_runtime_change_is_validated_and_does_not_mutate():
    cfg = load_config("sim", env={})
    new = config_with(cfg, {"risk": {"max_open_positions": 4}})
    assert new.risk.max_open_positions == 4 and cfg.risk.max_open_positions == 10
    with pytest.raises(ConfigError, match="max_open_positions"):
        config_with(cfg, {"risk": {"max_open_positions": -1}})


def test_take_profit_ladder_is_sorted_and_checked(tmp_path):
    p = tmp_path / "tp.toml"
    p.write_text("[exits]\ntake_profit = [[3.0, 1.0], [1.0, 0.5]]\n")
    assert load_config(p, env={}).exits.take_profit == ((1.0, 0.5), (3.0, 1.0))
    p.write_text("[exits]\ntake_profit = [[1.0, 1.5]]\n")
    with pytest.raises(ConfigError, match="take_profit"):
        load_config(p, env={})

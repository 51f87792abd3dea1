"""The --nat nftables ruleset, rendered purely."""

from __future__ import annotations

from supervisor.network.nat import NatNetwork, render_ruleset, table_name


def test_ruleset_masquerades_each_network_and_keeps_networks_apart() -> None:
    script = render_ruleset("ab12", [
        NatNetwork("berth0", "172.17.0.0/16"),
        NatNetwork("br-1", "172.18.0.0/16"),
        NatNetwork("br-int", "172.19.0.0/16", internal=True),
    ])
    lines = [line.strip() for line in script.splitlines()]
    assert lines[:3] == ["table ip berth_ab12", "delete table ip berth_ab12", "table ip berth_ab12 {"]
    assert 'ip saddr 172.17.0.0/16 oifname != "berth0" masquerade' in lines
    assert 'ip saddr 172.18.0.0/16 oifname != "br-1" masquerade' in lines
    assert not any("172.19.0.0/16" in line for line in lines)  # internal: no way out
    assert 'iifname { "br-int" } drop' in lines and 'oifname { "br-int" } drop' in lines
    assert 'iifname { "berth0", "br-1", "br-int" } oifname { "berth0", "br-1", "br-int" } drop' in lines


def test_one_network_needs_no_isolation_rule() -> None:
    script = render_ruleset("x", [NatNetwork("berth0", "172.17.0.0/16")])
    assert "oifname {" not in script and table_name("x") == "berth_x"

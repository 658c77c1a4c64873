"""Backend.AI session options: reading (every problem named by its full path), merging
over a profile's, comparing with an open session's, the summary, and the creation body
built at each API version (the keys SDK 23.9's ``get_or_create`` uses)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runbridge.backends.backendai.session import create_body
from runbridge.errors import BackendError, ConfigError, InvalidParams
from runbridge.model import SessionInfo, SessionState
from runbridge.protocol import parse_open_session
from runbridge.session_options import Mount, SessionOptions, mount_path, parse_session_options


def field_of(raw: Any) -> str:
    with pytest.raises(InvalidParams) as caught:
        parse_session_options(raw)
    return str(caught.value.data["field"])


def test_every_field_is_read() -> None:
    options = parse_session_options(
        {
            "resources": {"cpu": 2, "mem": "4g", "cuda.shares": 0.5, "cuda.device": "1"},
            "clusterSize": 2,
            "clusterMode": "multi-node",
            "mounts": [{"name": "data"}, {"name": "models", "target": "/opt/models"}],
            "scalingGroup": "gpu",
            "bootstrapScript": "pip install x\n",
            "tag": "exp",
        }
    )
    assert options.resources == {"cpu": 2, "mem": "4g", "cuda.shares": 0.5, "cuda.device": "1"}
    assert (options.cluster_size, options.cluster_mode) == (2, "multi-node")
    assert options.mounts == (Mount("data"), Mount("models", "/opt/models"))
    assert (options.scaling_group, options.bootstrap_script, options.tag) == (
        "gpu", "pip install x\n", "exp",
    )  # fmt: skip
    assert parse_session_options({}) == SessionOptions()
    assert parse_session_options({"tag": None}) == SessionOptions()  # null: not given


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([], "options"),
        ({"resources": []}, "options.resources"),
        ({"resources": {"cpu": 0}}, "options.resources.cpu"),
        ({"resources": {"cpu": -1.5}}, "options.resources.cpu"),
        ({"resources": {"cpu": True}}, "options.resources.cpu"),
        ({"resources": {"mem": "0g"}}, "options.resources.mem"),
        ({"resources": {"mem": "-4g"}}, "options.resources.mem"),
        ({"resources": {"mem": "four"}}, "options.resources.mem"),
        ({"resources": {"cuda shares": 1}}, "options.resources.cuda shares"),
        ({"resources": {"": 1}}, "options.resources."),
        ({"clusterSize": 0}, "options.clusterSize"),
        ({"clusterSize": 1.5}, "options.clusterSize"),
        ({"clusterSize": True}, "options.clusterSize"),
        ({"clusterMode": "multi"}, "options.clusterMode"),
        ({"mounts": {"name": "x"}}, "options.mounts"),
        ({"mounts": ["data"]}, "options.mounts[0]"),
        ({"mounts": [{"target": "/x"}]}, "options.mounts[0].name"),
        ({"mounts": [{"name": ""}]}, "options.mounts[0].name"),
        ({"mounts": [{"name": "a", "path": "/x"}]}, "options.mounts[0].path"),
        ({"mounts": [{"name": "a"}, {"name": "b", "target": "x/../../etc"}]},
         "options.mounts[1].target"),
        ({"mounts": [{"name": "a"}, {"name": "a", "target": "/b"}]}, "options.mounts[1].name"),
        ({"mounts": [{"name": "a", "target": "/opt/x"}, {"name": "b", "target": "/opt/x/"}]},
         "options.mounts[1].target"),
        ({"mounts": [{"name": "a"}, {"name": "b", "target": "/home/work/a"}]},
         "options.mounts[1].target"),
        ({"scalingGroup": ""}, "options.scalingGroup"),
        ({"scalingGroup": 3}, "options.scalingGroup"),
        ({"tag": "a\x00b"}, "options.tag"),
        ({"bootstrapScript": ["echo"]}, "options.bootstrapScript"),
        ({"cluster_size": 2}, "options.cluster_size"),
    ],
)  # fmt: skip
def test_a_bad_option_is_named_by_its_full_path(raw: Any, field: str) -> None:
    assert field_of(raw) == field


def test_open_session_reads_options_and_leaves_them_none_when_absent() -> None:
    assert parse_open_session({"name": "x"}).options is None
    params = parse_open_session({"name": "x", "options": {"clusterSize": 3}})
    assert params.options == SessionOptions(cluster_size=3)
    with pytest.raises(InvalidParams) as caught:
        parse_open_session({"name": "x", "options": {"mounts": [{"name": "a"}, {"name": 1}]}})
    assert caught.value.data["field"] == "options.mounts[1].name"


def test_mount_targets_follow_the_managers_rules() -> None:
    assert mount_path(Mount("data")) == "/home/work/data"
    assert mount_path(Mount("data", "sub/dir")) == "/home/work/sub/dir"
    assert mount_path(Mount("data", "/opt/data/")) == "/opt/data"


def test_a_request_wins_over_the_profile_and_resources_merge_by_slot() -> None:
    profile = SessionOptions(
        resources={"cpu": 1, "mem": "2g"}, scaling_group="default", tag="p", mounts=(Mount("a"),)
    )
    request = SessionOptions(resources={"cpu": 4, "cuda.shares": 0.5}, tag="r", mounts=())
    merged = request.over(profile)
    assert merged.resources == {"cpu": 4, "mem": "2g", "cuda.shares": 0.5}
    assert (merged.scaling_group, merged.tag, merged.mounts) == ("default", "r", ())
    assert SessionOptions().over(profile) == profile


def test_a_reopen_conflicts_on_the_first_field_it_sets_otherwise() -> None:
    open_options = SessionOptions(resources={"cpu": 2}, cluster_size=2, tag="t")
    assert SessionOptions().conflict_with(open_options) is None
    assert SessionOptions(cluster_size=2, resources={"cpu": 2}).conflict_with(open_options) is None
    assert SessionOptions(cluster_size=3).conflict_with(open_options) == "clusterSize"
    assert SessionOptions(resources={"mem": "1g"}).conflict_with(open_options) == "resources.mem"
    assert SessionOptions(bootstrap_script="x").conflict_with(open_options) == "bootstrapScript"


@pytest.mark.parametrize(
    ("options", "summary"),
    [
        (SessionOptions(), ""),
        (
            SessionOptions(
                resources={"cpu": 2, "mem": "4g", "cuda.shares": 0.5},
                cluster_size=2,
                cluster_mode="multi-node",
                scaling_group="gpu",
                mounts=(Mount("data"),),
            ),
            "cpu 2 · mem 4g · cuda.shares 0.5 · 2 × multi-node · sg gpu · 1 mount",
        ),
        (SessionOptions(resources={"mem": 4 << 30}), "mem 4g"),
        (SessionOptions(resources={"mem": 1000}), "mem 1000"),
        (SessionOptions(resources={"cpu": 2.0}), "cpu 2"),
        (SessionOptions(cluster_size=3), "3 × single-node"),
        (SessionOptions(cluster_mode="single-node", tag="t", bootstrap_script="x"), ""),
        (SessionOptions(mounts=(Mount("a"), Mount("b"))), "2 mounts"),
    ],
)
def test_summary(options: SessionOptions, summary: str) -> None:
    assert options.summary() == summary


def test_session_info_shows_options_with_the_scripts_length_only() -> None:
    options = SessionOptions(bootstrap_script="secret-ish text", cluster_size=2)
    info = SessionInfo(
        "s", "bai", "backendai", "img", SessionState.IDLE, True, "/w", options=options
    )
    wire = info.to_wire()
    assert wire["options"] == {"clusterSize": 2, "bootstrapScript": 15}
    assert wire["summary"] == "2 × single-node"
    assert "secret-ish" not in repr(wire)
    plain = SessionInfo("s", "local", "local", "python3", SessionState.IDLE, True, "/w").to_wire()
    assert "options" not in plain and "summary" not in plain


OPTIONS = SessionOptions(
    resources={"cpu": 2},
    cluster_size=2,
    mounts=(Mount("data"), Mount("models", "m")),
    scaling_group="gpu",
    bootstrap_script="echo hi\n",
    tag="t",
)


def body_at(version: str, options: SessionOptions = OPTIONS) -> dict[str, Any]:
    return create_body(
        "s-1", "python", {"A": "1"}, options, group="g", domain="d", api_version=version,
        where="Backend.AI manager http://x",
    )  # fmt: skip


def test_the_creation_body_at_v6_20200815_and_later() -> None:
    body = body_at("v9.20250722")
    assert (body["clusterSize"], body["clusterMode"]) == (2, "single-node")
    assert body["config"] == {
        "mounts": ["data", "models"],
        "environ": {"A": "1"},
        "resources": {"cpu": 2},
        "scalingGroup": "gpu",
        "mount_map": {"models": "m"},
    }
    assert (body["bootstrap_script"], body["tag"]) == ("echo hi\n", "t")
    assert body_at("v6.20200815")["clusterSize"] == 2


def test_the_creation_body_before_v6_20200815_puts_the_cluster_size_in_config() -> None:
    body = body_at("v5.20191215")
    assert body["config"]["clusterSize"] == 2 and "clusterSize" not in body
    assert "clusterMode" not in body and body["config"]["mount_map"] == {"models": "m"}
    assert body["bootstrap_script"] == "echo hi\n"


@pytest.mark.parametrize(
    ("version", "options", "named"),
    [
        ("v5.20191215", SessionOptions(cluster_mode="multi-node"), "clusterMode"),
        ("v4.20190615", SessionOptions(bootstrap_script="x"), "bootstrapScript"),
        ("v4.20190615", SessionOptions(mounts=(Mount("a", "/b"),)), "mounts[].target"),
    ],
)
def test_an_option_an_older_api_has_no_key_for_is_refused(
    version: str, options: SessionOptions, named: str
) -> None:
    with pytest.raises(BackendError) as caught:
        body_at(version, options)
    assert named in caught.value.message and version in caught.value.message


def test_a_body_without_options_is_the_plain_one() -> None:
    body = body_at("v9.20250722", SessionOptions())
    assert body["config"] == {"environ": {"A": "1"}}
    assert "tag" not in body and "bootstrap_script" not in body
    assert (body["clusterSize"], body["clusterMode"]) == (1, "single-node")


def test_a_profiles_bootstrap_script_is_read_when_a_session_opens(tmp_path: Path) -> None:
    from runbridge.backends.backendai.backend import BackendAIBackend
    from runbridge.config import Profile

    script = tmp_path / "boot.sh"
    settings = {"endpoint": "http://127.0.0.1:9", "access_key": "AK", "secret_key": "SK"}
    profile = Profile("bai", "backendai", settings={**settings, "bootstrap_script": str(script)})
    backend = BackendAIBackend(profile, environ={})
    with pytest.raises(ConfigError) as caught:
        backend.options(None)
    assert caught.value.data["key"] == "bootstrap_script" and str(script) in caught.value.message
    script.write_text("echo one\n")
    assert backend.options(None).bootstrap_script == "echo one\n"
    script.write_text("echo two\n")  # read again for each session
    request = SessionOptions(tag="t")
    assert backend.options(request) == SessionOptions(bootstrap_script="echo two\n", tag="t")
    assert backend.options(SessionOptions(bootstrap_script="")).bootstrap_script == ""

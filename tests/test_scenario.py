"""Scenario configuration (regcheck/model/scenario.py): built-ins, TOML files, ``--set`` overrides, and errors.

A scenario is data from strangers: every bad value must be refused with ``InvalidArgument`` and a
message that names the bad value and says what is allowed.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from regcheck.errors import InvalidArgument, RegcheckError
from regcheck.model import scenario as sc
from regcheck.model.scenario import CHOICES, EXPECTATIONS, MAX_FILE_BYTES, SYSTEM, Scenario

BUILTINS = sc.builtin_names()


# --------------------------------------------------------------------------------------------
# Built-ins


def test_builtin_names_are_stable_and_include_the_seed() -> None:
    assert BUILTINS == sorted(BUILTINS)
    assert len(BUILTINS) == len(set(BUILTINS))
    assert {"seed", "fix-run-as-user", "fix-no-notifications"} <= set(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_loads(name: str) -> None:
    scenario = sc.load_builtin(name)
    assert isinstance(scenario, Scenario)
    assert scenario.name == name
    assert scenario.description
    assert scenario.expected, "every built-in states what it expects"
    assert set(scenario.expected.values()) <= set(EXPECTATIONS)
    # `load` resolves a bare built-in name the same way.
    assert sc.load(name) == scenario


def test_seed_is_the_articles_case() -> None:
    seed = sc.load_builtin("seed")
    assert seed.workers == 1
    assert seed.impersonate is True
    assert seed.process_identity == SYSTEM
    assert seed.transport == "rpc-http"
    assert seed.notifications
    assert seed.expected["worker-never-gets-network-error"] == "violated"


def test_unknown_builtin_lists_the_builtins() -> None:
    with pytest.raises(InvalidArgument) as info:
        sc.load_builtin("no-such-scenario")
    message = str(info.value)
    assert "no-such-scenario" in message
    for name in BUILTINS:
        assert name in message


# --------------------------------------------------------------------------------------------
# TOML files


def test_load_toml_file(tmp_path) -> None:
    path = tmp_path / "two-users.toml"
    path.write_text(
        'description = "two workers"\n'
        "workers = 2\n"
        "requests = 3\n"
        'users = ["alice", "bob"]\n'
        'worker_users = ["bob", "alice"]\n'
        "impersonate = true\n"
        'process_identity = "SYSTEM"\n'
        "connect_flags = 0x20\n"
        'transport = "rpc-tcp"\n'
        'association_scope = "session"\n'
        "\n"
        "[expected]\n"
        'no-registration-mismatch = "holds"\n',
        encoding="utf-8",
    )
    scenario = sc.load(str(path))
    assert scenario.name == "two-users"  # the file's stem when the file names none
    assert scenario.description == "two workers"
    assert scenario.workers == 2
    assert scenario.requests == 3
    assert scenario.users == ("alice", "bob")
    assert scenario.worker_users == ("bob", "alice")
    assert scenario.user_of(1) == "bob"
    assert scenario.user_of(2) == "alice"
    assert scenario.connect_flags == 0x20
    assert not scenario.notifications
    assert scenario.transport == "rpc-tcp"
    assert scenario.association_count == 2
    assert dict(scenario.expected) == {"no-registration-mismatch": "holds"}
    assert sc.load_file(path) == scenario


def test_toml_file_may_name_itself(tmp_path) -> None:
    path = tmp_path / "file.toml"
    path.write_text('name = "mine"\n', encoding="utf-8")
    scenario = sc.load(str(path))
    assert scenario.name == "mine"
    # Everything else is the dataclass default.
    assert scenario.switches() == dataclasses.replace(Scenario(), name="mine").switches()


def test_empty_toml_file_is_the_default_scenario(tmp_path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("", encoding="utf-8")
    assert sc.load(str(path)).switches() == dataclasses.replace(Scenario(), name="empty").switches()


def test_file_of_exactly_the_size_limit_is_accepted(tmp_path) -> None:
    path = tmp_path / "padded.toml"
    body = "workers = 2\n"
    path.write_text(body + "#" * (MAX_FILE_BYTES - len(body) - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert sc.load(str(path)).workers == 2


# --------------------------------------------------------------------------------------------
# --set overrides


def test_overrides_parse_textual_values() -> None:
    seed = sc.load_builtin("seed")
    changed = sc.with_overrides(
        seed, ["workers=2", "connect_flags=0x20", "users=alice,bob", "impersonate=false"]
    )
    assert changed.workers == 2
    assert changed.connect_flags == 0x20
    assert not changed.notifications
    assert changed.users == ("alice", "bob")
    assert changed.impersonate is False
    assert changed.user_of(1) == "alice" and changed.user_of(2) == "bob"
    # A changed scenario no longer claims the built-in's expectations; the rest is untouched.
    assert dict(changed.expected) == {}
    assert changed.name == seed.name
    assert changed.transport == seed.transport
    assert changed.process_identity == seed.process_identity


@pytest.mark.parametrize(
    ("assignment", "key", "value"),
    [
        ("workers=2", "workers", 2),
        ("workers = 3", "workers", 3),
        ("connect_flags=0x20", "connect_flags", 0x20),
        ("connect_flags=32", "connect_flags", 32),
        ("users=alice,bob", "users", ("alice", "bob")),
        ("users= alice , bob ", "users", ("alice", "bob")),
        ("impersonate=false", "impersonate", False),
        ("impersonate=TRUE", "impersonate", True),
        ("server_async=false", "server_async", False),
        ("transport=mapi-http", "transport", "mapi-http"),
        ("on-mismatch=fail-only", "on_mismatch", "fail-only"),
        ("after_network_error=reconnect-new", "after_network_error", "reconnect-new"),
    ],
)
def test_single_override(assignment: str, key: str, value: object) -> None:
    assert getattr(sc.with_overrides(Scenario(), [assignment]), key) == value


def test_no_overrides_keeps_the_scenario_and_its_expectations() -> None:
    seed = sc.load_builtin("seed")
    assert sc.with_overrides(seed, []) is seed


# --------------------------------------------------------------------------------------------
# Bad input: InvalidArgument naming the bad value and what is allowed


def _refused(make) -> str:
    with pytest.raises(InvalidArgument) as info:
        make()
    assert isinstance(info.value, RegcheckError)
    message = str(info.value)
    assert "\n" not in message.strip(), "one line"
    return message


@pytest.mark.parametrize(
    ("assignment", "must_mention"),
    [
        ("workers=0", ["workers", "0", "1 to 16"]),
        ("workers=17", ["workers", "17", "1 to 16"]),
        ("workers=two", ["workers", "two", "whole number"]),
        ("requests=9", ["requests", "9", "1 to 8"]),
        ("impersonate=maybe", ["impersonate", "maybe", "true or false"]),
        ("nosuch=1", ["nosuch", "workers", "transport", "impersonate"]),
        ("transport=smtp", ["transport", "smtp", *CHOICES["transport"]]),
        ("on_mismatch=ignore", ["on_mismatch", "ignore", *CHOICES["on_mismatch"]]),
        ("users=SYSTEM", ["users", "SYSTEM", "lower-case"]),
        ("users=none", ["users", "none", "lower-case"]),
        ("users=evicted", ["users", "evicted"]),
        ("users=Alice", ["users", "Alice", "lower-case"]),
        ("process_identity=bob", ["process_identity", "bob", SYSTEM, "alice"]),
        ("worker_users=alice,alice", ["worker_users", "1", "2"]),
        ("worker_users=bob", ["worker_users", "bob", "alice"]),
        ("workers", ["workers", "KEY=VALUE"]),
        ("jobs=0", ["jobs", "0", "1 to 4"]),
        ("jobs=5", ["jobs", "5", "1 to 4"]),
        ("worker_users=alice+*", ["worker_users", "*", "stands alone"]),
        ("worker_users=alice+carol", ["worker_users", "carol", "alice"]),
        ("worker_users=alice+alice+alice+alice+alice", ["worker_users", "1 to 4"]),
        ("session_reuse=sometimes", ["session_reuse", "sometimes", *CHOICES["session_reuse"]]),
        ("notifier=many", ["notifier", "many", *CHOICES["notifier"]]),
        ("worker_impersonates=maybe", ["worker_impersonates", "maybe", "true or false"]),
        ("worker_impersonates=true,false", ["worker_impersonates", "1", "2"]),
        ("mailbox_access=svc", ["mailbox_access", "ACCOUNT:USER", "svc"]),
        ("mailbox_access=svc:carol", ["mailbox_access.svc", "carol", "alice"]),
        ("mailbox_access=Svc:alice", ["mailbox_access", "Svc", "account name"]),
        ("mailbox_access=none:alice", ["mailbox_access", "none"]),
        ("mailbox_access=a:alice,b:alice,c:alice,d:alice,e:alice", ["mailbox_access", "at most 4"]),
        ("process_identity=svc", ["process_identity", "svc", "service account"]),
    ],
)
def test_bad_override_is_refused(assignment: str, must_mention: list[str]) -> None:
    message = _refused(lambda: sc.with_overrides(sc.load_builtin("seed"), [assignment]))
    for text in must_mention:
        assert text in message, f"{text!r} not in {message!r}"


def test_bad_values_refused_by_the_constructor() -> None:
    assert "0" in _refused(lambda: Scenario(workers=0))
    assert "17" in _refused(lambda: Scenario(workers=17))
    assert "'maybe'" in _refused(lambda: Scenario(impersonate="maybe"))  # type: ignore[arg-type]
    assert "'smtp'" in _refused(lambda: Scenario(transport="smtp"))
    assert "'SYSTEM'" in _refused(lambda: Scenario(users=("SYSTEM",)))
    assert "'none'" in _refused(lambda: Scenario(users=("none",)))
    assert "'carol'" in _refused(lambda: Scenario(users=("alice", "bob"), process_identity="carol"))
    assert "2" in _refused(lambda: Scenario(workers=1, worker_users=("alice", "alice")))
    assert "0" in _refused(lambda: Scenario(users=()))
    assert "distinct" in _refused(lambda: Scenario(users=("alice", "alice")))


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_toml(tmp_path) -> None:
    path = _write(tmp_path, "broken.toml", "workers = = 2\n[expected\n")
    message = _refused(lambda: sc.load(str(path)))
    assert str(path) in message
    assert "TOML" in message


def test_unknown_toml_key_lists_the_known_ones(tmp_path) -> None:
    path = _write(tmp_path, "typo.toml", "wokrers = 2\n")
    message = _refused(lambda: sc.load(str(path)))
    assert "wokrers" in message
    for key in ("workers", "transport", "impersonate", "connect_flags", "expected"):
        assert key in message


@pytest.mark.parametrize(
    ("text", "must_mention"),
    [
        ("workers = 0\n", ["workers", "0", "1 to 16"]),
        ("workers = 17\n", ["workers", "17", "1 to 16"]),
        ("workers = 1.5\n", ["workers", "1.5"]),
        ("workers = true\n", ["workers", "True"]),
        ('impersonate = "maybe"\n', ["impersonate", "maybe", "true or false"]),
        ('transport = "smtp"\n', ["transport", "smtp", "rpc-http", "rpc-tcp", "mapi-http"]),
        ('users = ["SYSTEM"]\n', ["SYSTEM"]),
        ('users = ["alice", 5]\n', ["users", "5"]),
        ('users = ["alice"]\nprocess_identity = "bob"\n', ["process_identity", "bob", "alice", "SYSTEM"]),
        ('users = ["alice"]\nworker_users = ["alice", "alice"]\n', ["worker_users", "1", "2"]),
        ('[expected]\nseed = "maybe"\n', ["maybe", "violated", "holds"]),
        ('[expected]\nworker-never-gets-network-error = "proved"\n', ["proved", "violated", "holds"]),
        ("expected = 3\n", ["expected", "violated", "holds"]),
        ('worker_users = [["alice", ["bob"]]]\n', ["worker_users", "a list of user names"]),
        ("worker_users = [[]]\n", ["worker_users", "1 to 4"]),
        ('worker_users = [["*", "alice"]]\n', ["worker_users", "stands alone"]),
        ("worker_users = [3]\n", ["worker_users", "3"]),
        ("worker_impersonates = [1]\n", ["worker_impersonates", "true or false"]),
        ('worker_impersonates = "yes"\n', ["worker_impersonates", "yes", "true or false"]),
        ('mailbox_access = "svc"\n', ["mailbox_access", "svc"]),
        ('mailbox_access = { svc = "alice" }\n', ["mailbox_access", "user names"]),
        ('mailbox_access = { svc = ["carol"] }\n', ["mailbox_access.svc", "carol"]),
        ('mailbox_access = { svc = { x = 1 } }\n', ["mailbox_access"]),
        ("jobs = 2.5\n", ["jobs", "2.5"]),
        ('session_reuse = ["per-job"]\n', ["session_reuse", "string"]),
    ],
)
def test_bad_toml_values(tmp_path, text: str, must_mention: list[str]) -> None:
    path = _write(tmp_path, "bad.toml", text)
    message = _refused(lambda: sc.load(str(path)))
    for part in must_mention:
        assert part in message, f"{part!r} not in {message!r}"


def test_missing_file(tmp_path) -> None:
    path = tmp_path / "absent.toml"
    message = _refused(lambda: sc.load(str(path)))
    assert str(path) in message


def test_oversized_file(tmp_path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text("workers = 1\n" + "#" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    size = path.stat().st_size
    assert size > MAX_FILE_BYTES
    message = _refused(lambda: sc.load(str(path)))
    assert str(path) in message
    assert str(size) in message
    assert str(MAX_FILE_BYTES) in message


def test_not_utf8_file(tmp_path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"workers = \xff\xfe\n")
    assert str(path) in _refused(lambda: sc.load(str(path)))


def test_expected_verdict_must_be_violated_holds_or_bounded() -> None:
    message = _refused(lambda: Scenario(expected={"no-registration-mismatch": "proved"}))
    assert "no-registration-mismatch" in message
    assert "'proved'" in message
    assert "violated, holds, bounded" in message


def test_holds_is_met_by_a_proof_alone_and_bounded_by_a_bound_too() -> None:
    assert Scenario(expected={"no-registration-mismatch": "bounded"}).expected == {"no-registration-mismatch": "bounded"}
    table = {verdict: [sc.meets(verdict, e) for e in ("holds", "bounded", "violated")]
             for verdict in ("proved", "bounded", "violated", "unknown")}
    assert table == {
        "proved": [True, True, False],
        "bounded": [False, True, False],
        "violated": [False, False, True],
        "unknown": [False, False, False],
    }
    assert sc.meets("bounded", None) is None


def test_unknown_key_in_from_mapping() -> None:
    message = _refused(lambda: sc.from_mapping({"workers": 1, "colour": "red"}))
    assert "colour" in message
    assert "workers" in message


# --------------------------------------------------------------------------------------------
# Property: every valid combination of switches round-trips through switches()/from_mapping

NAMES = ["alice", "bob", "carol", "dave", "eve", "f.g", "h_1", "i-j"]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    workers = draw(st.integers(1, sc.MAX_WORKERS))
    users = tuple(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=sc.MAX_USERS, unique=True)))
    worker_users: tuple[str | tuple[str, ...], ...] = ()
    entry = st.one_of(
        st.sampled_from((*users, sc.ANY_USER)),
        st.lists(st.sampled_from(users), min_size=2, max_size=sc.MAX_JOBS).map(tuple),
    )
    if draw(st.booleans()):
        worker_users = tuple(draw(st.lists(entry, min_size=workers, max_size=workers)))
    worker_impersonates: tuple[bool, ...] = ()
    if draw(st.booleans()):
        worker_impersonates = tuple(draw(st.lists(st.booleans(), min_size=workers, max_size=workers)))
    accounts = draw(st.lists(st.sampled_from(("svc", "ops", SYSTEM, *users)), max_size=3, unique=True))
    mailbox_access = {a: tuple(draw(st.lists(st.sampled_from(users), max_size=3, unique=True))) for a in accounts}
    service = [a for a in accounts if a not in users and a != SYSTEM]
    choices = {key: draw(st.sampled_from(allowed)) for key, allowed in CHOICES.items()}
    return Scenario(
        name=draw(st.sampled_from(["custom", "x", "seed-variant"])),
        description=draw(st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs")), max_size=20)),
        workers=workers,
        requests=draw(st.integers(1, sc.MAX_REQUESTS)),
        users=users,
        worker_users=worker_users,
        jobs=draw(st.integers(1, sc.MAX_JOBS)),
        impersonate=draw(st.booleans()),
        worker_impersonates=worker_impersonates,
        mailbox_access=mailbox_access,
        process_identity=draw(st.sampled_from((SYSTEM, *users, *service))),
        connect_flags=draw(st.one_of(st.sampled_from([0, 0x20]), st.integers(0, 0xFFFFFFFF))),
        server_async=draw(st.booleans()),
        **choices,
    )


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_switches_round_trip_through_from_mapping(scenario: Scenario) -> None:
    switches = scenario.switches()
    assert "expected" not in switches
    assert set(switches) == {f.name for f in dataclasses.fields(Scenario)} - {"expected"}
    again = sc.from_mapping(switches)
    assert again.switches() == switches
    # The resolved worker_users make every worker's jobs explicit and identical.
    assert [again.jobs_of(w) for w in again.worker_ids] == [scenario.jobs_of(w) for w in scenario.worker_ids]
    assert [again.impersonates(w) for w in again.worker_ids] == [scenario.impersonates(w) for w in scenario.worker_ids]


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_switches_round_trip_through_textual_overrides(scenario: Scenario) -> None:
    """What ``--set`` accepts for every switch rebuilds the same scenario from the default one."""
    switches = scenario.switches()
    # The resolved per-worker lists decide; a global switch they contradict has no effect and is refused.
    shadowed = {"impersonate"} if set(switches["worker_impersonates"]) - {switches["impersonate"]} else set()
    if any(isinstance(e, list) and len(e) != switches["jobs"] for e in switches["worker_users"]):
        shadowed.add("jobs")
    assignments = []
    for key, value in switches.items():
        if key in ("name", "description", *shadowed):
            continue
        if key == "mailbox_access" and not value:
            continue  # an empty table has no textual form; the default is empty
        assignments.append(f"{key}={sc.as_text(key, value)}")
    rebuilt = sc.with_overrides(Scenario(name=scenario.name, description=scenario.description), assignments)
    assert {k: v for k, v in rebuilt.switches().items() if k not in shadowed} == {
        k: v for k, v in switches.items() if k not in shadowed}


# --------------------------------------------------------------------------------------------
# Scenario files name the line at fault; bare names are built-ins


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('workers = 2\n\ntransport = "rpc-htp"\n', ["line 3", "transport", "did you mean 'rpc-http'?"]),
        ("workers = 1\nimpersonat = true\n", ["line 2", "unknown switch 'impersonat'", "did you mean 'impersonate'?"]),
        ('workers = "3"\n', ["line 1", "workers: expected a whole number", "got '3'"]),
        ('users = "alice,bob"\n', ["line 1", "users: expected a list of user names"]),
        ('impersonate = "false"\n', ["line 1", "impersonate: expected true or false"]),
        ('workers = 1\n[expected]\nno-registration-mismatch = "maybe"\n', ["line 3", "expected.no-registration-mismatch"]),
        ('users = ["alice"]\nworker_users = ["alcie"]\n', ["line 2", "did you mean 'alice'?"]),
    ],
)
def test_a_bad_switch_in_a_file_names_the_file_and_its_line(tmp_path, text: str, words: list[str]) -> None:
    path = tmp_path / "design.toml"
    path.write_text(text)
    message = _refused(lambda: sc.load(str(path)))
    assert f"scenario file '{path}'" in message
    for word in words:
        assert word in message


def test_a_scenario_file_may_start_with_a_byte_order_mark(tmp_path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbfworkers = 2\n")
    assert sc.load(str(path)).workers == 2


@pytest.mark.parametrize(
    ("assignment", "words"),
    [
        ("workers=\u0661\u0662", ["ASCII digits", "'\u0661\u0662'"]),
        ("workers=" + "1" * 5000, ["ASCII digits", "(5002 characters)"]),
        ("mailbox_access=svc:alice,svc:bob", ["'svc' is given twice", "svc:alice+bob"]),
        ("transprot=rpc-tcp", ["unknown switch 'transprot'", "did you mean 'transport'?"]),
    ],
)
def test_override_text_is_read_strictly(assignment: str, words: list[str]) -> None:
    message = _refused(lambda: sc.with_overrides(sc.load_builtin("seed"), [assignment]))
    for word in words:
        assert word in message


def test_a_bare_name_is_the_builtin_whatever_files_the_folder_holds(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seed").write_text('impersonate = false\nprocess_identity = "alice"\n')
    assert sc.load("seed") == sc.load_builtin("seed")
    assert sc.load("./seed").impersonate is False
    (tmp_path / "mine").write_text("workers = 2\n")
    message = _refused(lambda: sc.load("mine"))
    assert "'mine' is not a built-in scenario" in message and "say ./mine" in message
    assert "did you mean 'seed'?" in _refused(lambda: sc.load("sed"))

"""Hierarchy rules of a release plan: each broken rule is refused with a message naming the offending id and rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from release_console.domain.ids import EntityId, EntityType, InvalidEntityId
from release_console.domain.plan import MAX_PLAN_ENTITIES, InvalidPlan, PlanNode, flatten_plan, validate_plan
from release_console.temporal.releases import build_plan


def app(key: str, state: str = "pending") -> PlanNode:
    return PlanNode(f"app:{key}", state)


def cluster(key: str, *apps: PlanNode, bundles: int = 1) -> PlanNode:
    made = [PlanNode(f"bundle:{key}-b{i}", children=list(apps) if i == 0 else []) for i in range(bundles)]
    return PlanNode(f"cluster:{key}", children=made)


def release(*waves: PlanNode, key: str = "r1") -> PlanNode:
    return PlanNode(f"release:{key}", children=list(waves))


def wave(key: str, *children: PlanNode) -> PlanNode:
    return PlanNode(f"wave:{key}", children=list(children))


def refused(plan: PlanNode, **kwargs) -> str:
    with pytest.raises(InvalidPlan) as info:
        validate_plan(plan, **kwargs)
    return str(info.value)


def test_a_regular_plan_is_valid_and_counted() -> None:
    plan = build_plan("rel-001", waves=3, clusters_per_wave=4, apps_per_bundle=5)
    assert validate_plan(plan, release_id="release:rel-001") == 1 + 3 + 3 * 4 * 2 + 3 * 4 * 5


def test_plans_up_to_the_entity_cap_are_valid_and_larger_ones_refused() -> None:
    # one wave, one cluster, one bundle: the rest are apps (4 entities above them)
    def plan_of(entities: int) -> PlanNode:
        apps = [app(f"a{i}") for i in range(entities - 4)]
        return release(wave("w1", cluster("c1", *apps)))

    assert validate_plan(plan_of(MAX_PLAN_ENTITIES)) == MAX_PLAN_ENTITIES
    assert f"more than {MAX_PLAN_ENTITIES} entities" in refused(plan_of(MAX_PLAN_ENTITIES + 1))


@given(st.text(alphabet=st.sampled_from("app:.-_xX9é \n"), max_size=12) | st.sampled_from(
    ["app:.", "app:..", "app:...", "app:.a", "app:" + "x" * 128, "app:" + "x" * 129, "App:x", "app:x\n"]
))
def test_plan_validation_accepts_exactly_the_app_ids_the_parser_accepts(candidate: str) -> None:
    try:
        parsed = EntityId.parse(candidate)
        parser_ok = parsed.type is EntityType.APP
    except InvalidEntityId:
        parser_ok = False
    plan = release(wave("w1", cluster("c1", PlanNode(candidate))))
    if parser_ok:
        assert validate_plan(plan) == 5
    else:
        assert refused(plan).startswith("child of bundle:c1-b0: entity id")  # the parser's own message


def test_a_plan_with_more_than_32_different_states_is_refused() -> None:
    apps = [app(f"a{i}", f"custom-{i}") for i in range(31)]  # 31 custom states + "pending" above them: 32
    assert validate_plan(release(wave("w1", cluster("c1", *apps)))) == 35
    message = refused(release(wave("w1", cluster("c1", *apps, app("a31", "custom-31")))))
    assert message == "release:r1: the plan uses 33 different states; a release may use at most 32"


def test_minimal_plans_are_valid() -> None:
    assert validate_plan(release()) == 1
    assert validate_plan(release(wave("w1"))) == 2
    assert validate_plan(release(wave("w1", cluster("c1")))) == 4


def test_any_non_empty_foreign_state_is_accepted() -> None:
    plan = release(wave("w1", cluster("c1", app("a1", "Waiting For Approval"), app("a2", "queued-by-argo"))))
    assert validate_plan(plan) == 6


def test_app_directly_under_a_wave() -> None:
    message = refused(release(wave("w1", app("a1"))))
    assert message.startswith("app:a1:")
    assert "cannot be a child of wave:w1" in message and "children of a wave must be clusters" in message


def test_bundle_directly_under_a_wave() -> None:
    plan = release(wave("w1", PlanNode("bundle:b1")))
    message = refused(plan)
    assert message.startswith("bundle:b1:") and "children of a wave must be clusters" in message


def test_wave_under_a_wave_and_cluster_under_release() -> None:
    assert "children of a wave must be clusters" in refused(release(wave("w1", wave("w2"))))
    message = refused(PlanNode("release:r1", children=[cluster("c1")]))
    assert message.startswith("cluster:c1:") and "children of a release must be waves" in message


def test_app_under_a_cluster_without_bundle() -> None:
    plan = release(wave("w1", PlanNode("cluster:c1", children=[app("a1")])))
    message = refused(plan)
    assert message.startswith("app:a1:") and "children of a cluster must be bundles" in message


def test_two_bundles_in_one_cluster() -> None:
    message = refused(release(wave("w1", cluster("c1", app("a1"), bundles=2))))
    assert message == "cluster:c1: a cluster must hold exactly one bundle, it holds 2"


def test_zero_bundles_in_a_cluster() -> None:
    message = refused(release(wave("w1", PlanNode("cluster:c1"))))
    assert message == "cluster:c1: a cluster must hold exactly one bundle, it holds 0"


def test_app_with_children() -> None:
    parent = app("a1")
    parent.children.append(app("a2"))
    message = refused(release(wave("w1", cluster("c1", parent))))
    assert message == "app:a1: an app cannot have children"


@pytest.mark.parametrize(
    "plan",
    [
        release(wave("w1"), wave("w1")),
        release(wave("w1", cluster("c1", app("a1"), app("a1")))),
        release(wave("w1", cluster("c1", app("a1"))), wave("w2", cluster("c2", app("a1")))),
    ],
    ids=["waves", "apps-in-bundle", "apps-across-waves"],
)
def test_duplicate_ids(plan: PlanNode) -> None:
    message = refused(plan)
    assert "duplicate id" in message
    assert message.split(":")[0] in {"wave", "app"} and message.split(":")[1] in {"w1", "a1"}


def test_the_same_key_under_different_types_is_not_a_duplicate() -> None:
    assert validate_plan(release(wave("x", cluster("x", app("x"))), key="x")) == 5


@pytest.mark.parametrize(
    ("state", "rule"),
    [
        ("", "state is empty"),
        ("   ", "state is empty"),
        ("x" * 200, "state is 200 characters long; at most 64"),
        ("bad\nstate", "non-printable"),
        (None, "state must be a string"),
    ],
)
def test_bad_states_name_the_entity(state: object, rule: str) -> None:
    message = refused(release(wave("w1", cluster("c1", app("a1", state)))))  # type: ignore[arg-type]
    assert message.startswith("app:a1: ") and rule in message


def test_bad_state_of_the_release_itself() -> None:
    assert refused(PlanNode("release:r1", "")) == "release:r1: state is empty"


def test_root_must_be_a_release() -> None:
    message = refused(wave("w1"))
    assert message == "wave:w1: the root of a plan must be a release, not a wave"


def test_malformed_root_id() -> None:
    message = refused(PlanNode("rel-001"))
    assert message.startswith("root:") and "'rel-001' has no ':'" in message


def test_malformed_child_id_names_its_parent() -> None:
    message = refused(release(wave("w1", cluster("c1", PlanNode("app:bad id")))))
    assert message.startswith("child of bundle:c1-b0:") and "'app:bad id'" in message


def test_plan_must_match_the_workflow_id() -> None:
    message = refused(release(key="r1"), release_id="release:r2")
    assert message.startswith("release:r1:") and "'release:r2'" in message


def test_flatten_is_pre_order_in_plan_order() -> None:
    plan = release(wave("w1", cluster("c1", app("a1"), app("a2"))), wave("w2"))
    rows = list(flatten_plan(plan))
    assert [r[0] for r in rows] == [
        "release:r1",
        "wave:w1",
        "cluster:c1",
        "bundle:c1-b0",
        "app:a1",
        "app:a2",
        "wave:w2",
    ]
    assert [r[1] for r in rows] == [
        None,
        "release:r1",
        "wave:w1",
        "cluster:c1",
        "bundle:c1-b0",
        "bundle:c1-b0",
        "release:r1",
    ]

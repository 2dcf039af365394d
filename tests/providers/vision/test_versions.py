"""Scans analysed by different analyser versions are compared only on the metrics both score alike."""

from typing import Any

from fastapi.testclient import TestClient

from app.core.vocabulary import METRICS_WITH_OVERALL
from app.insights.sources import ScanObservations
from app.providers.vision.local import LocalVisionProvider
from app.providers.vision.versions import LOCAL_VERSIONS, comparable, rescaled_between
from app.scans.models import AnalysisSummary, ScoredScan
from app.scans.progress import progress
from app.scans.worker import delta_against
from tests.factories import scan_record
from tests.helpers import upload_scan, wait_for
from tests.images import face_jpeg


def analysed_by(version: str) -> AnalysisSummary:
    return AnalysisSummary(provider="local", model_version=version)


def test_the_local_analysers_version_is_the_newest_the_table_knows() -> None:
    # A version bump must say here which metrics it recalibrated.
    assert LocalVisionProvider.model_version == LOCAL_VERSIONS[-1][0]


def test_a_version_step_changes_only_the_metrics_it_recalibrated() -> None:
    assert rescaled_between("local-mesh-5", "local-mesh-6") == {"pores", "texture", "overall"}
    assert rescaled_between("local-mesh-6", "local-mesh-5") == {"pores", "texture", "overall"}
    assert rescaled_between("local-mesh-4", "local-mesh-6") == {
        "acne",
        "pigmentation",
        "pores",
        "texture",
        "overall",
    }
    assert rescaled_between("local-mesh-3", "local-mesh-6") is None  # mesh-4 changed every metric
    assert rescaled_between("local-mesh-6", "local-mesh-6") == frozenset()
    # Another provider, or a scan stored before versions were kept: compared as always.
    assert rescaled_between("gemini-2.5-flash", "local-mesh-6") == frozenset()
    assert rescaled_between(None, "local-mesh-6") == frozenset()
    assert comparable(["acne", "pores"], "local-mesh-3", "local-mesh-6") == set()
    # mesh-7 moved the white point of bearded faces, and with it every metric of theirs.
    assert rescaled_between("local-mesh-6", "local-mesh-7") is None


def test_a_delta_across_a_recalibration_leaves_the_recalibrated_metrics_out() -> None:
    every = dict.fromkeys(METRICS_WITH_OVERALL, 60.0)
    reference = scan_record(
        user_id="u", status="completed", scores=every, analysis=analysed_by("local-mesh-5")
    )
    scores = dict.fromkeys(every, 50.0)
    delta = delta_against(reference, scores, "local-mesh-6")
    assert delta is not None
    assert set(delta.changes) == set(every) - {"pores", "texture", "overall"}
    assert set(delta.within_noise) == set(delta.changes)
    assert all(change == -10.0 for change in delta.changes.values())
    same = delta_against(reference, scores, "local-mesh-5")
    assert same is not None
    assert set(same.changes) == set(every)


def history_across_an_upgrade() -> list[ScoredScan]:
    """Two local-mesh-5 scans, then two local-mesh-6 ones (which recalibrated pores)."""
    versions = ["local-mesh-5", "local-mesh-5", "local-mesh-6", "local-mesh-6"]
    return [
        ScoredScan(
            scan_id=f"s{i}",
            scan_date=f"2026-11-0{i + 1}T09:00:00Z",
            scores={"pores": 70.0 - 10 * i, "acne": 60.0 + 5 * i},
            model_version=version,
        )
        for i, version in enumerate(versions)
    ]


def test_progress_follows_a_metric_only_since_the_analyser_last_recalibrated_it() -> None:
    history = history_across_an_upgrade()
    pores, acne = progress(history, "pores")[0], progress(history, "acne")[0]
    assert [p.scan_id for p in pores.points] == ["s2", "s3"]  # mesh-6 rescaled pores
    assert pores.change_since_first == -10.0
    assert [p.scan_id for p in acne.points] == ["s0", "s1", "s2", "s3"]  # acne kept its scale
    assert acne.change_since_first == 15.0


def test_the_scores_projection_carries_the_analyser_version(client: TestClient, user: dict) -> None:
    scan = wait_for(client, user["headers"], upload_scan(client, user["headers"], face_jpeg())["scan_id"])
    assert scan["status"] == "completed"
    container: Any = client.app.state.container  # type: ignore[attr-defined]
    (scored,) = container.scans_repo.completed_scores(user_id=user["user"]["user_id"], consistent=True)
    assert scored.model_version == LocalVisionProvider.model_version


def test_the_cycle_insight_reads_each_metric_only_on_its_current_scale() -> None:
    class Scans:
        def completed_scores(self, *, user_id: str) -> list[ScoredScan]:
            return history_across_an_upgrade()

    observations = ScanObservations(scans=Scans()).observations(user_id="u")  # type: ignore[arg-type]
    assert sorted(o.value for o in observations if o.metric == "pores") == [40.0, 50.0]
    assert sorted(o.value for o in observations if o.metric == "acne") == [60.0, 65.0, 70.0, 75.0]

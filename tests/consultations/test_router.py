"""/consultations over HTTP against DynamoDB Local: the directory, requests, the link, ratings."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.consultations.links import ReportLinkCodec
from app.core.errors import DependencyUnavailableError
from app.core.security import iso, utc_now
from app.db.dynamodb import to_attr
from app.db.keys import consultation_files_prefix, consultation_key
from tests.conftest import PASSWORD
from tests.consultations.helpers import CONSULTATIONS, DOCTOR, request_consultation

DIRECTORY = f"{CONSULTATIONS}/dermatologists"


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def report_files(container: Any, user_id: str) -> list[Path]:
    folder = Path(container.storage.root) / consultation_files_prefix(user_id)
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


# ---- the directory ----


def test_the_directory_lists_every_entry_in_name_order(client: TestClient, user: dict) -> None:
    body = client.get(DIRECTORY, headers=user["headers"], params={"limit": 100}).json()
    names = [e["name"] for e in body["items"]]
    assert len(names) == 9
    assert names == sorted(names, key=str.casefold)
    assert body["next_cursor"] is None
    okafor = next(e for e in body["items"] if e["id"] == DOCTOR)
    assert okafor["contact"]["email"] == "referrals@okafor-skin.example.org"
    assert okafor["accepts_teleconsultation"] is True


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"specialty": "skin_cancer"}, {"lucas-moreau-paris", "priya-raman-london"}),
        ({"language": "fr"}, {"lucas-moreau-paris", "omar-haddad-new-york"}),
        ({"language": "FR", "city": "new york"}, {"omar-haddad-new-york"}),
        ({"city": "LONDON", "specialty": "acne"}, {"amara-okafor-london"}),
        ({"teleconsultation": "false"}, {"lucas-moreau-paris", "omar-haddad-new-york"}),
        ({"city": "Reykjavik"}, set()),
    ],
)
def test_the_directory_filters_by_specialty_language_city_and_teleconsultation(
    client: TestClient, user: dict, params: dict[str, str], expected: set[str]
) -> None:
    response = client.get(DIRECTORY, headers=user["headers"], params=params)
    assert response.status_code == 200, response.text
    assert {e["id"] for e in response.json()["items"]} == expected


def test_the_directory_pages_with_a_cursor_without_gaps_or_repeats(client: TestClient, user: dict) -> None:
    everything = [e["id"] for e in client.get(DIRECTORY, headers=user["headers"]).json()["items"]]
    seen, cursor, pages = [], None, 0
    while True:
        params: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        body = client.get(DIRECTORY, headers=user["headers"], params=params).json()
        seen += [e["id"] for e in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == everything
    assert pages == 3


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"specialty": "astrology"}, 422, "validation_error"),
        ({"language": "english"}, 422, "validation_error"),
        ({"cursor": "not-a-cursor"}, 400, "invalid_cursor"),
        ({"cursor": "eyJhZnRlciI6Im5vYm9keSJ9"}, 400, "invalid_cursor"),  # {"after":"nobody"}
        ({"limit": 0}, 422, "validation_error"),
    ],
)
def test_bad_directory_queries_are_refused_clearly(
    client: TestClient, user: dict, params: dict[str, Any], status: int, code: str
) -> None:
    response = client.get(DIRECTORY, headers=user["headers"], params=params)
    assert response.status_code == status, response.text
    assert error_code(response) == code


# ---- creating a request ----


def test_a_request_is_sent_to_the_dermatologist_with_a_link_that_needs_no_token(
    client: TestClient, container: Any, new_patient: Any
) -> None:
    patient = new_patient(full_name="Noor Haddad")
    before = len(container.mailer.sent)
    consultation = request_consultation(client, patient, reason="A mole that changed colour")
    assert consultation["status"] == "sent"
    assert consultation["sent_at"]
    assert consultation["dermatologist"] == {"id": DOCTOR, "name": "Dr Amara Okafor"}
    assert consultation["scan_ids"] == [patient["scans"][0]["scan_id"]]
    report = consultation["report"]
    assert report["link_state"] == "active"
    assert report["pages"] == 3  # summary, chart, the one scan
    # The mail went to the directory's contact, with the link, the reason and how to reply.
    mail = container.mailer.sent[before:][-1]
    assert mail["to"] == "referrals@okafor-skin.example.org"
    assert report["url"] in mail["body"]
    assert "A mole that changed colour" in mail["body"]
    assert patient["email"] in mail["body"]
    # The dermatologist opens it without any token.
    opened = client.get(report["url"])
    assert opened.status_code == 200
    assert opened.content.startswith(b"%PDF-")
    assert len(opened.content) == report["bytes"]
    assert opened.headers["cache-control"] == "no-store"
    # The user reads it back, with the same link.
    again = client.get(
        f"{CONSULTATIONS}/{consultation['consultation_id']}", headers=patient["headers"]
    ).json()
    assert again["report"]["url"] == report["url"]
    assert again["status"] == "sent"


def test_requests_are_listed_newest_first_a_page_at_a_time(client: TestClient, new_patient: Any) -> None:
    patient = new_patient()
    made = [
        request_consultation(client, patient, reason=f"Question {i}")["consultation_id"] for i in range(3)
    ]
    first = client.get(CONSULTATIONS, headers=patient["headers"], params={"limit": 2}).json()
    second = client.get(
        CONSULTATIONS, headers=patient["headers"], params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    listed = [c["consultation_id"] for c in first["items"] + second["items"]]
    assert listed == list(reversed(made))
    assert second["next_cursor"] is None
    assert [c["reason"] for c in first["items"]] == ["Question 2", "Question 1"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dermatologist_id": DOCTOR, "reason": "Rash", "scan_ids": []}, "body.scan_ids"),
        (
            {"dermatologist_id": DOCTOR, "reason": "Rash", "scan_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"] * 2},
            "body.scan_ids",
        ),
        (
            {
                "dermatologist_id": DOCTOR,
                "reason": "Rash",
                "scan_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FA" + c for c in "ABCDEFG"],
            },
            "body.scan_ids",
        ),
        (
            {"dermatologist_id": DOCTOR, "reason": "", "scan_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]},
            "body.reason",
        ),
        (
            {"dermatologist_id": DOCTOR, "reason": "x" * 1001, "scan_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]},
            "body.reason",
        ),
        (
            {"dermatologist_id": "Not An Id!", "reason": "Rash", "scan_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]},
            "body.dermatologist_id",
        ),
        (
            {
                "dermatologist_id": DOCTOR,
                "reason": "Rash",
                "scan_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"],
                "x": 1,
            },
            "body.x",
        ),
    ],
)
def test_invalid_requests_are_422_and_make_nothing(
    client: TestClient, user: dict, body: dict, field: str
) -> None:
    response = client.post(CONSULTATIONS, headers=user["headers"], json=body)
    assert response.status_code == 422, response.text
    assert field in {d["field"] for d in response.json()["error"]["details"]}
    assert client.get(CONSULTATIONS, headers=user["headers"]).json()["items"] == []


def test_only_the_users_own_completed_scans_can_be_shared(
    client: TestClient, container: Any, new_patient: Any, user: dict
) -> None:
    owner = new_patient()
    scan_id = owner["scans"][0]["scan_id"]
    body = {"dermatologist_id": DOCTOR, "reason": "Rash", "scan_ids": [scan_id]}
    # Another user's scan is simply not found.
    theirs = client.post(CONSULTATIONS, headers=user["headers"], json=body)
    assert theirs.status_code == 404
    assert error_code(theirs) == "scan_not_found"
    # A scan still waiting for its photos is not completed.
    waiting = client.post("/api/v1/scans", headers=owner["headers"], json={}).json()["scan_id"]
    pending = client.post(
        CONSULTATIONS, headers=owner["headers"], json={**body, "scan_ids": [scan_id, waiting]}
    )
    assert pending.status_code == 409
    assert error_code(pending) == "scan_not_completed"
    assert pending.json()["error"]["details"] == {"scan_id": waiting, "status": "awaiting_upload"}
    # An unknown dermatologist.
    unknown = client.post(
        CONSULTATIONS, headers=owner["headers"], json={**body, "dermatologist_id": "dr-nobody"}
    )
    assert unknown.status_code == 404
    assert error_code(unknown) == "dermatologist_not_found"
    assert client.get(CONSULTATIONS, headers=owner["headers"]).json()["items"] == []
    assert report_files(container, owner["user"]["user_id"]) == []


def test_a_request_that_cannot_be_recorded_leaves_no_report_behind(
    client: TestClient, container: Any, new_patient: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = new_patient()

    def database_down(**_: Any) -> None:
        raise DependencyUnavailableError("The database is unavailable; try again shortly.")

    monkeypatch.setattr(container.consultations._repo, "create", database_down)
    body = {"dermatologist_id": DOCTOR, "reason": "Rash", "scan_ids": [patient["scans"][0]["scan_id"]]}
    response = client.post(CONSULTATIONS, headers=patient["headers"], json=body)
    assert response.status_code == 503
    monkeypatch.undo()
    assert client.get(CONSULTATIONS, headers=patient["headers"]).json()["items"] == []
    assert report_files(container, patient["user"]["user_id"]) == []


def test_requests_are_limited_per_day(
    client: TestClient, container: Any, new_patient: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = new_patient()
    monkeypatch.setattr(container.consultations, "_per_day", 1)
    request_consultation(client, patient)
    body = {"dermatologist_id": DOCTOR, "reason": "Again", "scan_ids": [patient["scans"][0]["scan_id"]]}
    refused = client.post(CONSULTATIONS, headers=patient["headers"], json=body)
    assert refused.status_code == 429
    assert error_code(refused) == "consultations_rate_limited"
    assert int(refused.headers["retry-after"]) > 0
    assert len(client.get(CONSULTATIONS, headers=patient["headers"]).json()["items"]) == 1


# ---- ownership ----


def test_another_users_consultation_is_404_everywhere_and_unchanged(
    client: TestClient, new_patient: Any, user: dict
) -> None:
    patient = new_patient()
    consultation = request_consultation(client, patient)
    path = f"{CONSULTATIONS}/{consultation['consultation_id']}"
    for method, url, body in [
        ("GET", path, None),
        ("POST", f"{path}/cancel", None),
        ("POST", f"{path}/send", None),
        ("POST", f"{path}/rate", {"rating": 1}),
    ]:
        response = client.request(method, url, headers=user["headers"], json=body)
        assert response.status_code == 404, (method, url, response.text)
        assert error_code(response) == "consultation_not_found"
    assert client.get(CONSULTATIONS, headers=user["headers"]).json()["items"] == []
    mine = client.get(path, headers=patient["headers"]).json()
    assert mine["status"] == "sent"
    assert mine["rating"] is None
    assert client.get(mine["report"]["url"]).status_code == 200


# ---- the link stops ----


def test_a_cancelled_request_refuses_its_link_and_deletes_the_report(
    client: TestClient, container: Any, new_patient: Any
) -> None:
    patient = new_patient()
    consultation = request_consultation(client, patient)
    url = consultation["report"]["url"]
    assert client.get(url).status_code == 200
    assert len(report_files(container, patient["user"]["user_id"])) == 1
    path = f"{CONSULTATIONS}/{consultation['consultation_id']}"
    cancelled = client.post(f"{path}/cancel", headers=patient["headers"])
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled"
    assert body["cancelled_at"]
    assert body["report"] == {**consultation["report"], "url": None, "link_state": "cancelled"}
    refused = client.get(url)
    assert refused.status_code == 410
    assert error_code(refused) == "consultation_cancelled"
    assert report_files(container, patient["user"]["user_id"]) == []
    # Cancelling again changes nothing; a cancelled request is not sent again.
    assert client.post(f"{path}/cancel", headers=patient["headers"]).json() == body
    resend = client.post(f"{path}/send", headers=patient["headers"])
    assert resend.status_code == 409
    assert error_code(resend) == "consultation_cancelled"


def test_an_expired_link_is_refused(
    client: TestClient, container: Any, settings: Any, new_patient: Any
) -> None:
    patient = new_patient()
    user_id = patient["user"]["user_id"]
    consultation = request_consultation(client, patient)
    url = consultation["report"]["url"]
    # The consultation's expiry passes (the link's own signed expiry is checked separately below).
    past = iso(utc_now() - timedelta(minutes=1))
    container.dynamodb.update_item(
        TableName=settings.table_names["records"],
        Key=consultation_key(user_id, consultation["consultation_id"]),
        UpdateExpression="SET report_expires_at = :past",
        ExpressionAttributeValues={":past": to_attr(past)},
    )
    refused = client.get(url)
    assert refused.status_code == 410
    assert error_code(refused) == "report_link_expired"
    assert report_files(container, user_id) == []  # no longer shared, no longer kept
    read = client.get(f"{CONSULTATIONS}/{consultation['consultation_id']}", headers=patient["headers"]).json()
    assert read["report"]["link_state"] == "expired"
    assert read["report"]["url"] is None
    # A link whose signed expiry has passed is refused before anything is read.
    record = container.consultations.get(user_id=user_id, consultation_id=consultation["consultation_id"])
    old_token = ReportLinkCodec(secret_key=settings.secret_key).token(record)
    expired = client.get(f"{CONSULTATIONS}/reports/{old_token}")
    assert expired.status_code == 410
    assert error_code(expired) == "report_link_expired"


def test_forged_or_tampered_links_are_refused(
    client: TestClient, container: Any, settings: Any, new_patient: Any
) -> None:
    patient = new_patient()
    consultation = request_consultation(client, patient)
    token = consultation["report"]["url"].rsplit("/", 1)[1]
    record = container.consultations.get(
        user_id=patient["user"]["user_id"], consultation_id=consultation["consultation_id"]
    )
    forged = {
        "tampered": token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"),
        "wrong key": ReportLinkCodec(secret_key="another-secret-key-of-enough-length-123").token(record),
        "other nonce": ReportLinkCodec(secret_key=settings.secret_key).token(
            record.model_copy(update={"report_nonce": "guessed"})
        ),
        "garbage": "x" * 40,
    }
    for name, bad in forged.items():
        response = client.get(f"{CONSULTATIONS}/reports/{bad}")
        assert response.status_code == 403, (name, response.text)
        assert error_code(response) == "invalid_report_link"
    assert client.get(consultation["report"]["url"]).status_code == 200


def test_the_link_token_stays_out_of_the_access_log(
    client: TestClient, new_patient: Any, caplog: pytest.LogCaptureFixture
) -> None:
    patient = new_patient()
    url = request_consultation(client, patient)["report"]["url"]
    with caplog.at_level("INFO", logger="dermalens.access"):
        assert client.get(url).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "dermalens.access"]
    assert any("/consultations/reports/<redacted>" in line for line in lines)
    assert not any(url.rsplit("/", 1)[1] in line for line in lines)


# ---- sending and rating ----


def test_rating_waits_for_the_mail_and_happens_once(
    client: TestClient, container: Any, new_patient: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = new_patient()

    def mail_down(**_: Any) -> None:
        raise DependencyUnavailableError("Mail could not be sent; try again shortly.")

    monkeypatch.setattr(container.mailer, "send", mail_down)
    consultation = request_consultation(client, patient)
    assert consultation["status"] == "pending"
    assert consultation["sent_at"] is None
    assert consultation["last_send_error"] == "Mail could not be sent; try again shortly."
    assert consultation["send_attempts"] == 1
    path = f"{CONSULTATIONS}/{consultation['consultation_id']}"
    early = client.post(f"{path}/rate", headers=patient["headers"], json={"rating": 5})
    assert early.status_code == 409
    assert error_code(early) == "consultation_not_sent"
    monkeypatch.undo()
    # The mail goes out on the retry.
    sent = client.post(f"{path}/send", headers=patient["headers"])
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "sent"
    assert sent.json()["send_attempts"] == 2
    assert sent.json()["last_send_error"] is None
    again = client.post(f"{path}/send", headers=patient["headers"])
    assert again.status_code == 409
    assert error_code(again) == "consultation_sent"
    # Out-of-range ratings are 422; a real one is kept, once.
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": 3, "comment": "x" * 1001}, {}):
        assert client.post(f"{path}/rate", headers=patient["headers"], json=bad).status_code == 422
    rated = client.post(
        f"{path}/rate", headers=patient["headers"], json={"rating": 4, "comment": " Helpful "}
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"]["rating"] == 4
    assert rated.json()["rating"]["comment"] == "Helpful"
    twice = client.post(f"{path}/rate", headers=patient["headers"], json={"rating": 1})
    assert twice.status_code == 409
    assert error_code(twice) == "already_rated"
    assert client.get(path, headers=patient["headers"]).json()["rating"]["rating"] == 4


# ---- the account ----


def test_export_lists_consultations_and_deletion_kills_the_link(
    client: TestClient, container: Any, new_patient: Any
) -> None:
    patient = new_patient()
    user_id = patient["user"]["user_id"]
    consultation = request_consultation(client, patient, reason="Export me")
    exported = client.get("/api/v1/auth/me/export", headers=patient["headers"]).json()
    [item] = exported["consultations"]
    assert item["consultation_id"] == consultation["consultation_id"]
    assert item["reason"] == "Export me"
    assert item["dermatologist_name"] == "Dr Amara Okafor"
    assert "report_nonce" not in item  # the link's secret part is not exported
    url = consultation["report"]["url"]
    assert client.get(url).status_code == 200
    deleted = client.request(
        "DELETE", "/api/v1/auth/me", headers=patient["headers"], json={"password": PASSWORD}
    )
    assert deleted.status_code == 204
    gone = client.get(url)
    assert gone.status_code == 404
    assert error_code(gone) == "report_not_found"
    assert report_files(container, user_id) == []
    assert container.consultations._repo.all_for_user(user_id=user_id) == []

"""The cloud-AI opt-out: an opted-out user's scans and chat go to the local providers."""

from typing import Any

from app.preferences.models import StoredPreferences
from app.preferences.providers import ProviderSelector


class Named:
    def __init__(self, name: str) -> None:
        self.name = name


def test_an_opted_out_user_gets_the_local_provider_and_others_the_configured_one(
    container: Any, new_user: Any
) -> None:
    opted_out, other = new_user(), new_user()
    repo = container.preferences._repo
    repo.put(
        user_id=opted_out, preferences=StoredPreferences(cloud_ai_opt_out=True, version=1), expected_version=0
    )
    built: list[Named] = []

    def make_local() -> Named:
        built.append(Named("local"))
        return built[-1]

    selector: ProviderSelector[Named] = ProviderSelector(
        preferences=repo, configured=Named("gemini"), configured_is_local=False, local=make_local
    )
    assert selector.for_user(opted_out).name == "local"
    assert selector.for_user(other).name == "gemini"
    assert selector.for_user(opted_out) is built[0]  # built once, then reused
    assert len(built) == 1


def test_with_a_local_provider_configured_no_preference_is_read(new_user: Any) -> None:
    class Exploding:
        def get(self, **_: Any) -> None:
            raise AssertionError("read preferences although the provider is already local")

    local = Named("local")
    selector: ProviderSelector[Named] = ProviderSelector(
        preferences=Exploding(),  # type: ignore[arg-type]
        configured=local,
        configured_is_local=True,
        local=lambda: Named("other"),
    )
    assert selector.for_user(new_user()) is local

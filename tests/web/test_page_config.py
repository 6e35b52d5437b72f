"""What /web/config.json tells the chat page: where the dashboard and a run's page are."""

from __future__ import annotations

from learninngest.config import get_settings
from learninngest.web import CLOUD_APP_URL, page_config


def test_dev_mode_links_to_the_engine_dashboard_and_its_run_pages() -> None:
    config = page_config(get_settings(inngest_base_url="http://127.0.0.1:9999"))
    assert config == {
        "dashboard_url": "http://127.0.0.1:9999/",
        "run_url": "http://127.0.0.1:9999/runs/{run_id}",
    }


def test_cloud_mode_links_to_the_cloud_dashboard_only() -> None:
    settings = get_settings(
        inngest_dev="0",
        inngest_signing_key="signkey-prod-" + "ab" * 32,
        inngest_event_key="event-key",
        public_url="https://chat.example.org",
    )
    assert page_config(settings) == {"dashboard_url": CLOUD_APP_URL, "run_url": None}

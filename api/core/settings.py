"""Runtime settings, read from the environment (prefix ``STEWARD_``) and ``.env``."""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.core.catalog import Catalog, DemoTarget, HttpTarget, NoAdminUrlError
from api.core.catalog_sources import effective_catalog

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_worker_processes() -> int:
    """One worker process per CPU core, at most 4 (beyond that, run workers on more machines)."""
    return max(1, min(4, os.cpu_count() or 1))


class Settings(BaseSettings):
    """Every knob Steward reads. Defaults give a working one-machine stack.

    Attributes:
        home: State folder for the embedded stack (Temporal and app databases, keys).
        database_url: SQLAlchemy URL; SQLite file under ``home`` when unset.
        temporal_address: host:port of the Temporal frontend.
        temporal_namespace: Temporal namespace.
        task_queue: Task queue the worker polls.
        worker_processes: How many worker processes ``steward up`` runs on the task queue; one
            per CPU core (at most 4) when unset. A Python worker does its workflow and activity
            work on one core, so one process per core is what uses the machine.
        temporal_ui_port: Port of the dev server's web UI.
        api_host: Interface the API binds to.
        api_port: Port of the API.
        demo_port: Port of the demo target.
        catalog_path: The service catalog file (``STEWARD_CATALOG``); see :meth:`catalog`.
        targets: Service name -> base URL of its admin API. Deprecated: the catalog replaces
            it (each entry becomes an ``http`` service); ignored when ``catalog_path`` is set.
        signing_key: Secret that signs gate decisions; generated under ``home`` when unset.
        ledger_key: Ed25519 private key (PEM, or base64 of the 32-byte seed) that signs the
            evidence ledger; ``home/ledger.key`` (made by ``steward keys ledger``, or on first
            use) when unset.
        policy_dir: Folder with the Rego bundle (``*.rego`` and ``data.json``).
        policy_engine: ``embedded`` (regopy in process) or ``remote`` (an OPA server at
            ``opa_url``, through opa-python-client).
        opa_url: Base URL of the OPA server for the remote engine.
        opa_token: Bearer token for the OPA server, when it requires one.
        opa_timeout_seconds: Timeout of one decision request to the OPA server.
        opa_retries: Retries of a decision request that could not connect or got a 5xx.
        incident_window_seconds: Width of the fingerprint window for incident ids.
        incident_deadline_seconds: How long an incident's run may take before it ends
            ``failed``, compensated and alerted (a playbook's ``deadline_seconds`` overrides).
        incident_deadline_grace_seconds: Beyond the deadline, the run's Temporal execution
            timeout: a backstop for a run that cannot even compensate.
        incident_sweep_seconds: How often the sweeper closes incident rows whose workflow
            has ended (or is gone) while the row still says it runs.
        http_timeout_seconds: Timeout for actuator HTTP calls.
        temporal_bin: Explicit ``temporal`` CLI path; when unset, looked up on PATH, then
            next to the running Python.
        max_body_bytes: Largest request body the API reads; larger ones get 413.
        rate_limit_per_minute: Requests one API key may make per minute, on average.
        rate_limit_burst: Requests one API key may make at once before the average applies.
        unauthenticated_per_minute: Requests without a valid API key one client address may
            make per minute, on average, before the API answers 429 (kept in each API
            process's memory).
        unauthenticated_burst: Such requests one address may make at once.
        temporal_connect_timeout_seconds: How long the API waits to connect to Temporal
            before answering 503.
        temporal_retry_seconds: How long the API retries one Temporal call that could not
            reach the server before answering 503.
        temporal_retry_after_seconds: The ``Retry-After`` of that 503.
        vote_timeout_seconds: How long the API waits for a worker to take a vote (an Update)
            before answering 503; with no worker polling the task queue the vote would
            otherwise wait for one indefinitely.
        refusal_interval_seconds: Width of the interval refusals are counted in: one row per
            (principal or address, route, status, reason) and interval.
        refusal_flush_seconds: How often counted refusals are written (the first of each kind
            in an interval is written at once).
        refusal_retention_days: Refusal counts older than this are pruned (0 keeps them).
        operational_retention_days: Refused approval attempts (the signed ledger keeps each
            one), pushed events and webhook delivery attempts older than this are pruned
            (0 keeps them).
        retention_prune_seconds: How often the API prunes (0: only ``steward retention prune``).
        slack_bot_token: Bot token (``xoxb-...``); Slack stays off until it and the signing
            secret are set.
        slack_signing_secret: Secret Slack signs its requests with.
        slack_api_url: Base URL of the Slack Web API (tests point it at a local server).
        slack_channel: Channel for approval requests that no service or tier rule matches.
        slack_service_channels: Service name -> channel for its approval requests.
        slack_tier_channels: Actuator tier -> channel, used when the service has none.
        slack_escalation_channel: Channel told about approvals that time out or wait too long.
        slack_escalate_after_seconds: How long an approval may wait before it is escalated.
        slack_poll_seconds: How often the API looks for approvals to post or update in Slack.
        prometheus_url: Base URL of the Prometheus HTTP API that ``prometheus`` monitor sources
            query.
        prometheus_timeout_seconds: Timeout of one Prometheus query (also sent to Prometheus).
        prometheus_bin: Explicit ``prometheus`` binary for ``steward up``; when unset it is
            looked up on PATH. ``steward up`` runs it (scraping the demo target) when it is
            found and ``prometheus_url`` names this machine.
        prometheus_scrape_seconds: How often the Prometheus ``steward up`` runs scrapes.
        ingest_max_batch: Most events or delivery attempts one ingest request may carry.
        alertmanager_playbooks: Alert name -> playbook, for alerts without a ``playbook`` label.
        query_timeout_seconds: How long a REST read answered by a workflow run (delivery
            triage, replay advice) may take before the API answers 503.
        policy_sandbox_memory_mib: Memory a submitted policy bundle (what-ifs, reload checks)
            may use beyond its sandbox process's start, in MiB; past it the process is killed.
        policy_sandbox_seconds: Wall-clock limit on compiling a what-if bundle and deciding
            its inputs, and on each decision of a re-planned playbook with it.
        policy_check_seconds: Wall-clock limit on checking a policy for a reload (both
            engines compile it, tests included).
        policy_bundle_max_bytes: Largest submitted or reloaded bundle, all files together.
        policy_bundle_max_modules: Most ``.rego`` modules in one bundle.
        policy_module_max_bytes: Largest single ``.rego`` module.
        policy_data_max_bytes: Largest ``data.json``.
        simulation_quota: What-if simulations and simulate-mode incidents one API key may
            start per ``simulation_quota_seconds``, counted in the app database so the quota
            holds across API processes.
        simulation_quota_seconds: The quota's interval.
        plugin_modules: Importable modules that declare playbooks, actuators, checks and
            source kinds (``STEWARD_PLAYBOOKS`` etc.) for code that is not packaged with entry
            points; a comma-separated or JSON list.
    """

    model_config = SettingsConfigDict(env_prefix="STEWARD_", env_file=".env", extra="ignore")

    home: Path = Path(".steward")
    database_url: str | None = None
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "steward"
    worker_processes: int = Field(default_factory=default_worker_processes, ge=1, le=64)
    temporal_ui_port: int = 8233
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    demo_port: int = 8900
    catalog_path: Path | None = Field(
        default=None, validation_alias=AliasChoices("STEWARD_CATALOG", "catalog_path")
    )
    targets: dict[str, str] = Field(default_factory=dict)
    signing_key: str | None = None
    ledger_key: str | None = None
    policy_dir: Path = REPO_ROOT / "policies"
    policy_engine: Literal["embedded", "remote"] = "embedded"
    opa_url: str = "http://127.0.0.1:8181"
    opa_token: str | None = None
    opa_timeout_seconds: float = Field(default=2.0, gt=0)
    opa_retries: int = Field(default=1, ge=0)
    incident_window_seconds: int = 900
    incident_deadline_seconds: float = Field(default=6 * 3600.0, ge=1, le=30 * 86_400)
    incident_deadline_grace_seconds: float = Field(default=300.0, ge=1, le=86_400)
    incident_sweep_seconds: int = Field(default=300, ge=10, le=86_400)
    http_timeout_seconds: float = 10.0
    temporal_bin: Path | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    rate_limit_per_minute: float = Field(default=600.0, gt=0)
    rate_limit_burst: int = Field(default=60, ge=1)
    unauthenticated_per_minute: float = Field(default=60.0, gt=0)
    unauthenticated_burst: int = Field(default=120, ge=1)
    temporal_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    temporal_retry_seconds: float = Field(default=1.5, gt=0)
    temporal_retry_after_seconds: int = Field(default=5, ge=1)
    vote_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    refusal_interval_seconds: int = Field(default=60, ge=1, le=86_400)
    refusal_flush_seconds: float = Field(default=5.0, gt=0)
    refusal_retention_days: float = Field(default=30.0, ge=0)
    operational_retention_days: float = Field(default=90.0, ge=0)
    retention_prune_seconds: float = Field(default=3600.0, ge=0)
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_channel: str | None = None
    slack_service_channels: dict[str, str] = Field(default_factory=dict)
    slack_tier_channels: dict[str, str] = Field(default_factory=dict)
    slack_escalation_channel: str | None = None
    slack_escalate_after_seconds: float = Field(default=600.0, gt=0)
    slack_poll_seconds: float = Field(default=1.0, gt=0)
    prometheus_url: str = "http://127.0.0.1:9090"
    prometheus_timeout_seconds: float = Field(default=10.0, gt=0)
    prometheus_bin: Path | None = None
    prometheus_scrape_seconds: int = Field(default=5, ge=1, le=300)
    ingest_max_batch: int = Field(default=1000, ge=1, le=10_000)
    alertmanager_playbooks: dict[str, str] = Field(default_factory=dict)
    query_timeout_seconds: float = Field(default=30.0, gt=0)
    policy_sandbox_memory_mib: int = Field(default=256, ge=16)
    # At most 50: the simulation workflow gives its evaluation a 60 s local activity.
    policy_sandbox_seconds: float = Field(default=10.0, gt=0, le=50)
    policy_check_seconds: float = Field(default=60.0, gt=0)
    # Temporal caps a payload at 2 MB and a what-if bundle travels in a workflow's input.
    policy_bundle_max_bytes: int = Field(default=1_000_000, ge=1, le=1_500_000)
    policy_bundle_max_modules: int = Field(default=100, ge=1)
    policy_module_max_bytes: int = Field(default=256_000, ge=1)
    policy_data_max_bytes: int = Field(default=512_000, ge=1)
    simulation_quota: int = Field(default=30, ge=1)
    simulation_quota_seconds: int = Field(default=3600, ge=1)
    plugin_modules: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("plugin_modules", mode="before")
    @classmethod
    def _module_list(cls, value: object) -> object:
        """Accept ``a.b,c.d`` or ``["a.b", "c.d"]`` from the environment."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return tuple(part.strip() for part in text.split(",") if part.strip())

    @property
    def slack_enabled(self) -> bool:
        """Whether Slack is configured: both the bot token and the signing secret are set."""
        return bool(self.slack_bot_token and self.slack_signing_secret)

    def slack_channel_for(self, service: str, tier: str) -> str | None:
        """Return the channel for an approval: by service, else by tier, else the default."""
        return (
            self.slack_service_channels.get(service)
            or self.slack_tier_channels.get(tier)
            or self.slack_channel
        )

    def resolved_database_url(self) -> str:
        """Return the configured database URL, or the SQLite file under ``home``."""
        if self.database_url:
            return self.database_url
        self.home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.home / 'steward.db').resolve()}"

    def catalog(self) -> Catalog:
        """The service catalog: the ``catalog_path`` file, else one built from ``targets``.

        The built-in ``demo`` service is added unless the catalog defines ``demo``; using
        ``targets`` logs one deprecation warning per process (see
        :mod:`api.core.catalog_sources`).

        Raises:
            CatalogError: The catalog does not validate; the message names file, service and
                field.
        """
        return effective_catalog(catalog_path=self.catalog_path, targets=self.targets)

    def target_url(self, service: str) -> str:
        """Return the admin base URL of an ``http`` or ``demo`` service of the catalog.

        Raises:
            KeyError: Unknown service, naming the known ones.
            NoAdminUrlError: A Kubernetes service, which has no admin URL (a ValueError).
            CatalogError: The catalog does not validate.
        """
        target = self.catalog().service(service).target
        if isinstance(target, HttpTarget):
            return target.url.rstrip("/")
        if isinstance(target, DemoTarget):
            return f"http://127.0.0.1:{self.demo_port}"
        raise NoAdminUrlError(
            f"service {service!r} runs on Kubernetes (cluster {target.cluster}, namespace "
            f"{target.namespace}): it has no admin URL; use a Kubernetes actuator"
        )

    def resolved_signing_key(self) -> bytes:
        """Return the decision-signing secret, creating ``home/signing.key`` on first use."""
        if self.signing_key:
            return self.signing_key.encode()
        path = self.home / "signing.key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings (cached)."""
    return Settings()

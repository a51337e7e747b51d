"""``vigil gate PROJECT --fail-on high``: exit 0 on pass, 1 on fail, 2 on error.

With ``--server URL`` it asks a remote Vigil over its API (key from ``VIGIL_API_KEY``, sent only in
the ``Authorization`` header), which is how CI machines without database access use it.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import click

from app.cli.context import console_actor, transaction
from app.models import Project
from app.services import gate as gate_service
from app.services import projects as project_service
from app.services.permissions import NotFound

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _remote(server: str, project: str, fail_on: str, new_since: str | None) -> dict[str, Any]:
    key = os.environ.get("VIGIL_API_KEY", "")
    if not key:
        _fail("VIGIL_API_KEY is not set")
    if not project.isdigit():
        _fail("with --server, give the project id")
    query = {"fail_on": fail_on, **({"new_since": new_since} if new_since else {})}
    url = f"{server.rstrip('/')}/api/v1/projects/{project}/gate?{urllib.parse.urlencode(query)}"
    if not url.startswith(("https://", "http://")):
        _fail("--server must be an http(s) URL")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - scheme checked
            body: dict[str, Any] = json.loads(response.read())
            return body
    except urllib.error.HTTPError as exc:
        _fail(f"server answered {exc.code}")
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        _fail(f"cannot reach {server}: {exc}")
    raise AssertionError("unreachable")


@click.command("gate")
@click.argument("project")
@click.option("--fail-on", default="high", show_default=True, help="critical, high, medium, low or info")
@click.option("--new-since", default=None, help="'baseline' or a scan run id: only newer findings block")
@click.option("--server", default=None, help="Ask a remote Vigil instead of the local database.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def gate_cmd(project: str, fail_on: str, new_since: str | None, server: str | None, as_json: bool) -> None:
    """May this build pass? Exit 0 pass, 1 fail, 2 error."""
    try:
        if server:
            body = _remote(server, project, fail_on, new_since)
        else:
            with transaction() as session:
                found = project_service.get_by_name(session, project)
                if found is None and project.isdigit():
                    found = session.get(Project, int(project))
                if found is None:
                    _fail(f"no project named {project!r}")
                assert found is not None
                body = gate_service.evaluate(session, console_actor(), found.id, fail_on, new_since).as_dict()
    except gate_service.GateError as exc:
        _fail(str(exc))
    except NotFound:
        _fail(f"no such scan run for project {project!r}")
    if as_json:
        click.echo(json.dumps(body, indent=2))
    else:
        verdict = body["result"].upper()
        click.echo(f"{verdict}: {body['blocking_count']} blocking finding(s) at {body['fail_on']} or above")
        for item in body["blocking"][:20]:
            where = item.get("path") or item.get("package") or ""
            click.echo(f"  #{item['id']} {item['severity']} {item['rule_id']} {where} {item['title']}")
    sys.exit(EXIT_PASS if body["result"] == "pass" else EXIT_FAIL)


@click.command("gate-baseline")
@click.argument("project")
@click.option("--run", "run_id", type=int, default=None, help="Scan run id (default: latest successful).")
def gate_baseline_cmd(project: str, run_id: int | None) -> None:
    """Use a scan as the gate's baseline, so `--new-since baseline` only blocks newer findings."""
    with transaction() as session:
        found = project_service.get_by_name(session, project)
        if found is None:
            _fail(f"no project named {project!r}")
        assert found is not None
        run = gate_service.set_baseline(session, console_actor(), found.id, run_id)
        click.echo(f"baseline of {found.name} is now scan run {run.id}")


commands = [gate_cmd, gate_baseline_cmd]

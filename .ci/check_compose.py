"""Checks of docker-compose.yml that the Compose Specification's JSON schema cannot make.

    python .ci/check_compose.py [docker-compose.yml]
        every depends_on names an existing service (and not itself), without cycles; a
        service_healthy dependency has a healthcheck; a service_completed_successfully one does
        not restart; every named volume and config a service uses is declared at the top level.

    python .ci/check_compose.py --run-healthcheck SERVICE [docker-compose.yml]
        run SERVICE's healthcheck command here (with this Python for `python`), exit with its
        status: CI points it at a gunicorn it started, to prove the web healthcheck works.

No Docker engine is needed. ruamel.yaml comes with check-jsonschema (requirements.txt).
"""

import os
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML


def load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def depends_on(service: dict) -> dict[str, dict]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return {name: (spec or {}) for name, spec in deps.items()}


def named_volumes(service: dict) -> list[str]:
    names = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source = volume.split(":", 1)[0] if ":" in volume else ""
            kind = "bind" if source.startswith((".", "/", "~", "$")) else "volume"
        else:
            source, kind = volume.get("source", ""), volume.get("type", "volume")
        if kind == "volume" and source:
            names.append(source)
    return names


def problems(compose: dict) -> list[str]:
    found = []
    services = compose.get("services") or {}
    if not services:
        return ["no services are defined"]
    declared_volumes = set(compose.get("volumes") or {})
    declared_configs = set(compose.get("configs") or {})
    declared_secrets = set(compose.get("secrets") or {})

    for name, service in services.items():
        for dep, spec in depends_on(service).items():
            if dep == name:
                found.append(f"{name}: depends_on itself")
            elif dep not in services:
                found.append(f"{name}: depends_on {dep!r}, which is not a service")
                continue
            condition = spec.get("condition", "service_started")
            target = services[dep]
            if condition == "service_healthy":
                check = target.get("healthcheck") or {}
                if not check.get("test") or check.get("disable"):
                    found.append(
                        f"{name}: waits for {dep} to be healthy, but it has no healthcheck"
                    )
            if condition == "service_completed_successfully" and target.get("restart") not in (
                None,
                "no",
            ):
                found.append(
                    f"{name}: waits for {dep} to complete, but {dep} has restart: "
                    f'{target.get("restart")!r} (use restart: "no")'
                )
        for volume in named_volumes(service):
            if volume not in declared_volumes:
                found.append(f"{name}: uses volume {volume!r}, not declared under volumes:")
        for kind, declared in (("configs", declared_configs), ("secrets", declared_secrets)):
            for item in service.get(kind) or []:
                source = item if isinstance(item, str) else item.get("source")
                if source not in declared:
                    found.append(f"{name}: uses {kind[:-1]} {source!r}, not declared under {kind}:")

    # Cycles in depends_on would leave `docker compose up` waiting forever.
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "visiting"
        for dep in depends_on(services[node]):
            if dep not in services:
                continue
            if state.get(dep) == "visiting":
                found.append("depends_on cycle: " + " -> ".join([*path, node, dep]))
            elif dep not in state:
                visit(dep, [*path, node])
        state[node] = "done"

    for name in services:
        if name not in state:
            visit(name, [])
    return found


def run_healthcheck(compose: dict, service_name: str) -> int:
    service = (compose.get("services") or {}).get(service_name)
    if service is None:
        print(f"no service {service_name!r}", file=sys.stderr)
        return 2
    test = (service.get("healthcheck") or {}).get("test")
    if not test:
        print(f"{service_name} has no healthcheck", file=sys.stderr)
        return 2
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    kind, args = test[0], [arg.replace("$$", "$") for arg in test[1:]]
    if kind == "CMD-SHELL":
        command = ["/bin/sh", "-c", " ".join(args)]
    elif kind == "CMD":
        command = [sys.executable if args[0] in ("python", "python3") else args[0], *args[1:]]
    else:
        print(f"{service_name}: healthcheck kind {kind!r} cannot be run", file=sys.stderr)
        return 2
    return subprocess.run(command, env=os.environ, check=False).returncode  # noqa: S603


def main(argv: list[str]) -> int:
    if argv[:1] == ["--run-healthcheck"]:
        service_name = argv[1]
        path = Path(argv[2] if len(argv) > 2 else "docker-compose.yml")
        return run_healthcheck(load(path), service_name)
    path = Path(argv[0] if argv else "docker-compose.yml")
    compose = load(path)
    found = problems(compose)
    for problem in found:
        print(f"{path}: {problem}", file=sys.stderr)
    if found:
        return 1
    services = compose["services"]
    edges = sum(len(depends_on(service)) for service in services.values())
    print(f"{path}: {len(services)} services, {edges} depends_on entries, all resolve: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

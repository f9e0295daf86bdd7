"""One-line errors for the command-line entry points (train, sweeps, predict, report).

A user's mistake (an unknown option, a bad value, a preset that does not exist) prints one line
``error: ...`` naming the option and its valid choices and exits with status 2: no traceback.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable, Sequence

from scratchbench.config import ConfigError, validate
from scratchbench.config.compose import CONFIG_NAME, conf_dir


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` with the usual checks, but a wrong argument is one line naming the valid options."""

    def error(self, message: str):  # type: ignore[override]
        options = sorted({o for action in self._actions for o in action.option_strings if o.startswith("--")})
        self.exit(2, f"error: {message}; valid options: {', '.join(options)}\n")


def code_conf_dir() -> Path:
    """``conf/`` of the checkout holding this code, else of the project root."""
    here = Path(__file__).resolve().parents[3] / "conf"
    return here if here.is_dir() else conf_dir()


def group_choices(group: str) -> list[str]:
    """The option names of a ``conf/<group>/`` (``experiment``, ``model``, ``dataset``, ...)."""
    return sorted(p.stem for p in (code_conf_dir() / group).glob("*.yaml"))


def check_choices(option: str, values: Iterable[str], group: str) -> None:
    """Raise :class:`ConfigError` when a value of ``option`` is not a ``conf/<group>/`` name."""
    valid = group_choices(group)
    for value in values:
        if value not in valid:
            raise ConfigError(f"{option} {value!r}: no such {group} (conf/{group}/); valid: {', '.join(valid)}")


def _one_line(message: str) -> str:
    """Hydra's multi-line messages (e.g. a missing group option and its list) as one line."""
    parts: list[str] = []
    listing = False
    for line in (line.strip() for line in str(message).splitlines()):
        if not line:
            continue
        if line.startswith("Config search path"):
            break
        if line.lower().startswith("available options in"):
            parts.append("valid options" + line[len("available options"):].rstrip(":") + ":")
            listing = True
        elif listing:
            parts[-1] += (" " if parts[-1].endswith(":") else ", ") + line
        else:
            parts.append(line)
    return "; ".join(parts)


def _job_overrides(argv: Sequence[str]) -> list[list[str]] | None:
    """Each job's overrides of a Hydra command line (one job unless ``--multirun``), or None when the
    command line only asks Hydra for help/info."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args, _ = get_args_parser().parse_known_args(list(argv))
    if args.help or args.hydra_help or args.info or args.cfg or args.shell_completion or args.config_dir \
            or args.config_path or args.config_name:
        return None
    if not args.multirun:
        return [list(args.overrides)]
    parsed = OverridesParser.create().parse_overrides(list(args.overrides))
    return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


def check_hydra_command_line(argv: Sequence[str], conf: str | Path | None = None) -> None:
    """Compose and validate every job of a ``train`` command line before Hydra starts one.

    ``conf`` is the entry point's config folder (default: the project's ``conf/``). Raises
    :class:`ConfigError` with one line: a bad override, a group option that does not
    exist (``experiment=r99``) or a value the schema rejects, in any job of a sweep.
    """
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        jobs = _job_overrides(argv)
        if jobs is None:
            return
        with initialize_config_dir(str(Path(conf or code_conf_dir()).resolve()), version_base=None):
            for overrides in jobs:
                validate(compose(config_name=CONFIG_NAME, overrides=overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(_one_line(str(exc))) from None
